/// `nn.Conv2d` with a square kernel, as im2col + GEMM, one shard slice (slice) at a time;
/// from a single channel with a 3x3 kernel, stride 1 and padding 1 (the model's first layer),
/// directly (`Direct3x3`), since those GEMMs are too thin for BLAS; a halving convolution's
/// forward, where the AVX-512 kernels run in fp32, without im2col (`Halving.fusedForward`).
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

    /// `output[OC][N*P] = W[OC][C*k*k] x im2col(input) + bias`, one GEMM per chunk of a batch
    /// slice (`Im2col.forEachChunk`): OpenBLAS's result for a column depends on where it falls
    /// in the product (tail columns take other kernels), so a slice is always multiplied alone
    /// and chunked by its size alone, wherever it sits. Each chunk is unfolded into a
    /// per-thread buffer just before its GEMM, while in cache.
    public func forward(_ input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, slices: [Int],
                        scratch: ThreadScratch) {
        let batch = slices.reduce(0, +)
        let plane = geometry.outputPlane
        let width = batch * plane
        let patch = geometry.patchSize
        if Direct3x3.applies(to: geometry) {
            scratch.reserveColumns(for: slices, floatsPerImage: Direct3x3.workspacePerImage(geometry: geometry))
            return Parallel.forEachSlice(slices) { worker, _, start, size in
                Direct3x3.convolve(input, weights: weight.value, bias: bias.value, into: output, channels: outChannels,
                                   images: start..<(start + size), batch: batch, geometry: geometry, workspace: scratch.columns(worker))
            }
        }
        if Halving.fuses(geometry, rows: outChannels) {
            return Halving.fusedForward(input, weight: weight.value, bias: bias.value, rows: outChannels, into: output,
                                        slices: slices, geometry: geometry, scratch: scratch)
        }
        scratch.reserveColumnChunks(for: slices, geometry: geometry)
        Parallel.forEachSlice(slices) { worker, _, start, size in
            let columns = scratch.columns(worker)
            Im2col.forEachChunk(of: start..<(start + size), geometry: geometry) { chunk, _ in
                let (first, n) = (chunk.lowerBound, chunk.count * plane)
                Im2col.unfold(input, images: chunk, batch: batch, geometry: geometry, into: columns)
                // The output starts as the bias and the GEMM adds onto it (beta 1): one
                // pass, in cache, instead of BLAS zeroing it and a second pass adding the bias.
                for c in 0..<outChannels { (output + c * width + first * plane).update(repeating: bias.value[c], count: n) }
                BLAS.gemm(transposeA: false, transposeB: false, m: outChannels, n: n, k: patch,
                          a: weight.value, lda: patch, b: columns, ldb: n,
                          beta: 1, c: output + first * plane, ldc: width)
            }
        }
    }

    /// Gradients of the weight and bias from `gradOutput` and `input`, summed over the batch
    /// slice by slice (see `Parameter`), and of the input when `gradInput` is given. Per
    /// chunk of a slice, one per-thread buffer holds its im2col again (cheaper than keeping
    /// the whole batch's from forward: that is several times the cache) and then its columns'
    /// gradient, folded at once; the chunks' weight products add up in the slice's partial.
    /// A halving convolution under the AVX-512 kernels in fp32 makes its weight product
    /// without the columns (`Halving.fusedWeightGradient`).
    /// `sumBiasGradient: false` leaves the bias gradient to the caller (a BatchNorm right
    /// after this layer sums it in its own pass, see `BatchNorm2d.backward`).
    public func backward(_ input: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>,
                         gradInput: UnsafeMutablePointer<Float>?, slices: [Int], scratch: ThreadScratch,
                         sumBiasGradient: Bool = true) {
        if Direct3x3.applies(to: geometry) {
            Direct3x3.backward(multi: gradOutput, single: input, weight: weight, channels: outChannels, slices: slices,
                               geometry: geometry, scratch: scratch, gradSingle: gradInput)
        } else if Halving.fusesWeightGradient(geometry, rows: outChannels) {
            Halving.fusedWeightGradient(of: weight, rows: gradOutput, m: outChannels, unfolding: input, slices: slices,
                                        geometry: geometry, scratch: scratch)
            if let gradInput {
                Im2col.multiplyAndFold(weight: weight.value, k: outChannels, source: gradOutput, slices: slices, geometry: geometry,
                                       scratch: scratch, into: gradInput)
            }
        } else {
            backwardByColumns(input, gradOutput: gradOutput, gradInput: gradInput, slices: slices, scratch: scratch)
        }
        if sumBiasGradient {
            BiasGradient.sumRowsBySlice(gradOutput, channels: outChannels, plane: geometry.outputPlane, slices: slices, into: bias)
        }
    }

    private func backwardByColumns(_ input: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>,
                                   gradInput: UnsafeMutablePointer<Float>?, slices: [Int], scratch: ThreadScratch) {
        let batch = slices.reduce(0, +)
        scratch.reserveColumnChunks(for: slices, geometry: geometry)
        weight.sumOverSlices(slices, scratch: scratch) { worker, start, size, partial in
            let columns = scratch.columns(worker)
            Im2col.weightProduct(rows: gradOutput, m: outChannels, unfolding: input, images: start..<(start + size), batch: batch,
                                 geometry: geometry, col: columns, into: partial) { chunk in
                guard let gradInput else { return }
                Im2col.multiplyAndFold(weight: weight.value, k: outChannels, source: gradOutput, images: chunk, batch: batch,
                                       geometry: geometry, col: columns, into: gradInput)
            }
        }
    }
}
