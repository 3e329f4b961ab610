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

    /// `output[OC][N*P] = W[OC][C*k*k] x im2col(input) + bias`, one GEMM per batch segment
    /// (see `Parameter`: a segment's result then does not depend on where it sits in the batch).
    public func forward(_ input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, segments: [Int],
                        workspace: UnsafeMutablePointer<Float>) {
        let batch = segments.reduce(0, +)
        let plane = geometry.outputPlane
        let columns = batch * plane
        Im2col.unfold(input, batch: batch, geometry: geometry, into: workspace)
        forEachSegment(segments) { _, start, size in
            BLAS.gemm(transposeA: false, transposeB: false, m: outChannels, n: size * plane, k: geometry.patchSize,
                      a: weight.value, lda: geometry.patchSize, b: workspace + start * plane, ldb: columns,
                      c: output + start * plane, ldc: columns)
        }
        ChannelOps.addBias(output, bias: bias.value, channels: outChannels, length: columns)
    }

    /// Gradients of the weight and bias from `gradOutput`, summed over the batch segment by
    /// segment (see `Parameter`), and of the input when `gradInput` is given.
    public func backward(_ input: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>,
                         gradInput: UnsafeMutablePointer<Float>?, segments: [Int], workspace: UnsafeMutablePointer<Float>) {
        let batch = segments.reduce(0, +)
        let plane = geometry.outputPlane
        let columns = batch * plane
        let patch = geometry.patchSize
        Im2col.unfold(input, batch: batch, geometry: geometry, into: workspace)
        forEachSegment(segments) { i, start, size in
            BLAS.gemm(transposeA: false, transposeB: true, m: outChannels, n: patch, k: size * plane,
                      a: gradOutput + start * plane, lda: columns, b: workspace + start * plane, ldb: columns,
                      c: weight.gradient, ldc: patch)
            weight.accumulatePartial(first: i == 0)
        }
        weight.finishGradient()
        ChannelOps.sumRowsBySegment(gradOutput, channels: outChannels, plane: plane, segments: segments, into: bias)
        guard let gradInput else { return }
        forEachSegment(segments) { _, start, size in
            BLAS.gemm(transposeA: true, transposeB: false, m: patch, n: size * plane, k: outChannels,
                      a: weight.value, lda: patch, b: gradOutput + start * plane, ldb: columns,
                      c: workspace + start * plane, ldc: columns)
        }
        Im2col.fold(workspace, batch: batch, geometry: geometry, into: gradInput)
    }
}
