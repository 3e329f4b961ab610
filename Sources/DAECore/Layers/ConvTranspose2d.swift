/// `nn.ConvTranspose2d` with a square kernel: the adjoint of a convolution.
///
/// Forward is that convolution's backward-data (GEMM, then col2im); backward-data is its
/// forward (im2col, then GEMM). To a single channel with a 3x3 kernel, stride 1 and padding 1
/// (the model's last layer) all of it runs directly instead (`Direct3x3`). The weight is
/// PyTorch's `[in][out][k][k]`, read as the matrix `[in][out*k*k]`. Output size
/// `O = (I - 1) * S - 2P + F + V`.
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

    /// `output = bias + col2im(W^T x input)`, one GEMM per chunk of a batch slice (see
    /// `Conv2d.forward`), each chunk's columns folded at once from a per-thread buffer while
    /// still in cache.
    public func forward(_ input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, slices: [Int],
                        scratch: ThreadScratch) {
        let batch = slices.reduce(0, +)
        if Direct3x3.applies(to: geometry) {
            scratch.reserveColumns(for: slices, floatsPerImage: Direct3x3.workspacePerImage(geometry: geometry))
            return Parallel.forEachSlice(slices) { worker, _, start, size in
                Direct3x3.convolveAdjoint(input, weights: weight.value, initial: bias?.value[0] ?? 0, into: output, channels: inChannels,
                                          images: start..<(start + size), batch: batch, geometry: geometry, workspace: scratch.columns(worker))
            }
        }
        Im2col.multiplyAndFold(weight: weight.value, k: inChannels, source: input, slices: slices, geometry: geometry, scratch: scratch,
                               into: output, startingFrom: bias?.value)
    }

    /// Gradients of the weight and bias, summed over the batch slice by slice (see
    /// `Parameter`), and of the input when `gradInput` is given. Each chunk's im2col of
    /// `gradOutput` serves both of its GEMMs from a per-thread buffer; a halving layer under the
    /// AVX-512 kernels in fp32 makes both products without it (`Halving`). `sumBiasGradient:
    /// false` leaves the bias gradient to the caller (see `Conv2d.backward`).
    public func backward(_ input: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>,
                         gradInput: UnsafeMutablePointer<Float>?, slices: [Int], scratch: ThreadScratch,
                         sumBiasGradient: Bool = true) {
        if Direct3x3.applies(to: geometry) {
            Direct3x3.backward(multi: input, single: gradOutput, weight: weight, channels: inChannels, slices: slices,
                               geometry: geometry, scratch: scratch, gradMulti: gradInput)
        } else if Halving.fusesWeightGradient(geometry, rows: inChannels) {
            // The input gradient is the convolution's forward of `gradOutput`, fused as well
            // (`fusesWeightGradient` implies `fuses` for the same rows).
            Halving.fusedWeightGradient(of: weight, rows: input, m: inChannels, unfolding: gradOutput, slices: slices,
                                        geometry: geometry, scratch: scratch)
            if let gradInput {
                Halving.fusedForward(gradOutput, weight: weight.value, bias: nil, rows: inChannels, into: gradInput, slices: slices,
                                     geometry: geometry, scratch: scratch)
            }
        } else {
            backwardByColumns(input, gradOutput: gradOutput, gradInput: gradInput, slices: slices, scratch: scratch)
        }
        if let bias, sumBiasGradient {
            BiasGradient.sumRowsBySlice(gradOutput, channels: outChannels, plane: geometry.inputPlane, slices: slices, into: bias)
        }
    }

    private func backwardByColumns(_ input: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>,
                                   gradInput: UnsafeMutablePointer<Float>?, slices: [Int], scratch: ThreadScratch) {
        let batch = slices.reduce(0, +)
        let plane = inputHeight * inputWidth
        let width = batch * plane
        let patch = geometry.patchSize
        scratch.reserveColumnChunks(for: slices, geometry: geometry)
        weight.sumOverSlices(slices, scratch: scratch) { worker, start, size, partial in
            let columns = scratch.columns(worker)
            Im2col.weightProduct(rows: input, m: inChannels, unfolding: gradOutput, images: start..<(start + size), batch: batch,
                                 geometry: geometry, col: columns, into: partial) { chunk in
                guard let gradInput else { return }
                let n = chunk.count * plane
                BLAS.gemm(transposeA: false, transposeB: false, m: inChannels, n: n, k: patch,
                          a: weight.value, lda: patch, b: columns, ldb: n, c: gradInput + chunk.lowerBound * plane, ldc: width)
            }
        }
    }
}
