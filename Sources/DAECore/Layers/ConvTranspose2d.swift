/// `nn.ConvTranspose2d` with a square kernel: the adjoint of a convolution.
///
/// Forward is that convolution's backward-data (GEMM, then col2im); backward-data is its
/// forward (im2col, then GEMM). The weight is PyTorch's `[in][out][k][k]`, read as the
/// matrix `[in][out*k*k]`. Output size `O = (I - 1) * S - 2P + F + V`.
public struct ConvTranspose2d {
    public let inChannels: Int
    public let outChannels: Int
    public let inputHeight: Int
    public let inputWidth: Int
    /// The convolution this layer is the adjoint of: from this layer's output back to its input.
    public let geometry: ConvGeometry
    public let weight: Parameter
    public let bias: Parameter?

    public init(inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int, outputPadding: Int,
                inputHeight: Int, inputWidth: Int, weight: Parameter, bias: Parameter?) {
        precondition(weight.count == inChannels * outChannels * kernel * kernel, "ConvTranspose2d weight size")
        precondition(bias == nil || bias!.count == outChannels, "ConvTranspose2d bias size")
        precondition(outputPadding >= 0 && outputPadding < stride, "ConvTranspose2d output_padding must be smaller than stride")
        let outH = ConvGeometry.transposedOutputSize(input: inputHeight, kernel: kernel, stride: stride, padding: padding, outputPadding: outputPadding)
        let outW = ConvGeometry.transposedOutputSize(input: inputWidth, kernel: kernel, stride: stride, padding: padding, outputPadding: outputPadding)
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.inputHeight = inputHeight
        self.inputWidth = inputWidth
        self.geometry = ConvGeometry(channels: outChannels, height: outH, width: outW, kernel: kernel, stride: stride, padding: padding)
        precondition(geometry.outHeight == inputHeight && geometry.outWidth == inputWidth, "ConvTranspose2d geometry does not invert")
        self.weight = weight
        self.bias = bias
    }

    public var outputHeight: Int { geometry.height }
    public var outputWidth: Int { geometry.width }

    public func workspaceCount(batch: Int) -> Int { geometry.patchSize * batch * inputHeight * inputWidth }

    /// `output = bias + col2im(W^T x input)`, one GEMM per batch segment (see `Conv2d.forward`).
    public func forward(_ input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, segments: [Int],
                        workspace: UnsafeMutablePointer<Float>) {
        let batch = segments.reduce(0, +)
        let plane = inputHeight * inputWidth
        let columns = batch * plane
        let patch = geometry.patchSize
        Parallel.forEachSegment(segments) { _, _, start, size in
            BLAS.gemm(transposeA: true, transposeB: false, m: patch, n: size * plane, k: inChannels,
                      a: weight.value, lda: patch, b: input + start * plane, ldb: columns,
                      c: workspace + start * plane, ldc: columns)
        }
        Im2col.fold(workspace, batch: batch, geometry: geometry, into: output, startingFrom: bias?.value)
    }

    /// Gradients of the weight and bias, summed over the batch segment by segment (see
    /// `Parameter`), and of the input when `gradInput` is given.
    public func backward(_ input: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>,
                         gradInput: UnsafeMutablePointer<Float>?, segments: [Int], workspace: UnsafeMutablePointer<Float>,
                         scratch: GradientScratch) {
        let batch = segments.reduce(0, +)
        let plane = inputHeight * inputWidth
        let columns = batch * plane
        let patch = geometry.patchSize
        Im2col.unfold(gradOutput, batch: batch, geometry: geometry, into: workspace)
        weight.sumOverSegments(segments, scratch: scratch) { start, size, partial in
            BLAS.gemm(transposeA: false, transposeB: true, m: inChannels, n: patch, k: size * plane,
                      a: input + start * plane, lda: columns, b: workspace + start * plane, ldb: columns,
                      c: partial, ldc: patch)
        }
        if let bias {
            ChannelOps.sumRowsBySegment(gradOutput, channels: outChannels, plane: geometry.inputPlane, segments: segments, into: bias)
        }
        guard let gradInput else { return }
        Parallel.forEachSegment(segments) { _, _, start, size in
            BLAS.gemm(transposeA: false, transposeB: false, m: inChannels, n: size * plane, k: patch,
                      a: weight.value, lda: patch, b: workspace + start * plane, ldb: columns,
                      c: gradInput + start * plane, ldc: columns)
        }
    }
}
