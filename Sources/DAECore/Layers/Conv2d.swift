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

    /// Floats of the im2col buffer ("columns", `[C*k*k][N*OH*OW]`) that `forward` fills and
    /// `backward` reads: kept from one to the other instead of unfolding the input twice.
    public func columnsCount(batch: Int) -> Int { geometry.patchSize * batch * geometry.outputPlane }

    /// `output[OC][N*P] = W[OC][C*k*k] x im2col(input) + bias`, one GEMM per batch segment:
    /// OpenBLAS's result for a column depends on where it falls in the product (tail columns
    /// take other kernels), so a segment is always multiplied alone, wherever it sits.
    public func forward(_ input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, segments: [Int],
                        columns: UnsafeMutablePointer<Float>) {
        let batch = segments.reduce(0, +)
        let plane = geometry.outputPlane
        let width = batch * plane
        Im2col.unfold(input, batch: batch, geometry: geometry, into: columns)
        // The output starts as the bias and the GEMM adds onto it (beta 1): one pass over the
        // output instead of BLAS zeroing it and a second pass adding the bias.
        ChannelOps.fillWithBias(output, bias: bias.value, channels: outChannels, length: width)
        Parallel.forEachSegment(segments) { _, _, start, size in
            BLAS.gemm(transposeA: false, transposeB: false, m: outChannels, n: size * plane, k: geometry.patchSize,
                      a: weight.value, lda: geometry.patchSize, b: columns + start * plane, ldb: width,
                      beta: 1, c: output + start * plane, ldc: width)
        }
    }

    /// Gradients of the weight and bias from `gradOutput` and the `columns` of this batch's
    /// `forward`, summed over the batch segment by segment (see `Parameter`), and of the input
    /// when `gradInput` is given: per segment, its columns' gradient goes to a per-thread buffer
    /// and is folded at once, while still in cache.
    public func backward(columns: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>,
                         gradInput: UnsafeMutablePointer<Float>?, segments: [Int], scratch: ThreadScratch) {
        let batch = segments.reduce(0, +)
        let plane = geometry.outputPlane
        let width = batch * plane
        let patch = geometry.patchSize
        scratch.reserveColumns(for: segments, floatsPerImage: patch * plane)
        weight.sumOverSegments(segments, scratch: scratch) { worker, start, size, partial in
            BLAS.gemm(transposeA: false, transposeB: true, m: outChannels, n: patch, k: size * plane,
                      a: gradOutput + start * plane, lda: width, b: columns + start * plane, ldb: width,
                      c: partial, ldc: patch)
            guard let gradInput else { return }
            Im2col.multiplyAndFold(weight: weight.value, k: outChannels, source: gradOutput, images: start..<(start + size), batch: batch,
                                   geometry: geometry, col: scratch.columns(worker), into: gradInput)
        }
        ChannelOps.sumRowsBySegment(gradOutput, channels: outChannels, plane: plane, segments: segments, into: bias)
    }
}
