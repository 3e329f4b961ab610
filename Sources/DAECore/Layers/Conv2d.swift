/// `nn.Conv2d` with a square kernel, as im2col + one GEMM over the whole batch.
///
/// Activations are channel-major, `[C][N][H][W]`; the weight is PyTorch's `[out][in][k][k]`.
/// `backward` overwrites the parameter gradients (each parameter is used once per step).
public struct Conv2d {
    public let inChannels: Int
    public let outChannels: Int
    public let geometry: ConvGeometry
    public let weight: Parameter
    public let bias: Parameter

    public init(inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int,
                inputHeight: Int, inputWidth: Int, weight: Parameter, bias: Parameter) {
        precondition(weight.count == outChannels * inChannels * kernel * kernel, "Conv2d weight size")
        precondition(bias.count == outChannels, "Conv2d bias size")
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.geometry = ConvGeometry(channels: inChannels, height: inputHeight, width: inputWidth,
                                     kernel: kernel, stride: stride, padding: padding)
        self.weight = weight
        self.bias = bias
    }

    public var outputHeight: Int { geometry.outHeight }
    public var outputWidth: Int { geometry.outWidth }

    /// Floats of scratch space `forward` and `backward` need.
    public func workspaceCount(batch: Int) -> Int { geometry.patchSize * batch * geometry.outputPlane }

    /// `output[OC][N*P] = W[OC][C*k*k] x im2col(input) + bias`.
    public func forward(_ input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, batch: Int,
                        workspace: UnsafeMutablePointer<Float>) {
        let columns = batch * geometry.outputPlane
        Im2col.unfold(input, batch: batch, geometry: geometry, into: workspace)
        BLAS.gemm(transposeA: false, transposeB: false, m: outChannels, n: columns, k: geometry.patchSize,
                  a: weight.value, lda: geometry.patchSize, b: workspace, ldb: columns, c: output, ldc: columns)
        ChannelOps.addBias(output, bias: bias.value, channels: outChannels, length: columns)
    }

    /// Gradients of the weight and bias from `gradOutput`, and of the input when `gradInput` is given.
    public func backward(_ input: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>,
                         gradInput: UnsafeMutablePointer<Float>?, batch: Int, workspace: UnsafeMutablePointer<Float>) {
        let columns = batch * geometry.outputPlane
        let patch = geometry.patchSize
        Im2col.unfold(input, batch: batch, geometry: geometry, into: workspace)
        BLAS.gemm(transposeA: false, transposeB: true, m: outChannels, n: patch, k: columns,
                  a: gradOutput, lda: columns, b: workspace, ldb: columns, c: weight.gradient, ldc: patch)
        ChannelOps.sumRows(gradOutput, channels: outChannels, length: columns, into: bias.gradient)
        guard let gradInput else { return }
        BLAS.gemm(transposeA: true, transposeB: false, m: patch, n: columns, k: outChannels,
                  a: weight.value, lda: patch, b: gradOutput, ldb: columns, c: workspace, ldc: columns)
        Im2col.fold(workspace, batch: batch, geometry: geometry, into: gradInput)
    }
}
