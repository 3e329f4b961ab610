/// `nn.Linear`: `y[N][out] = x[N][in] W^T + b`, weight `[out][in]` as PyTorch.
/// Activations here are sample-major (`[N][features]`), as a flattened image is.
public struct Linear {
    public let inFeatures: Int
    public let outFeatures: Int
    public let weight: Parameter
    public let bias: Parameter
    /// `W^T` (`[in][out]`), copied in each backward: the input gradient `dy W` is taken as
    /// `dy (W^T)^T`. As a plain product with a narrow `W` (the decoder's `[3136][d]` for a small
    /// latent d) OpenBLAS's AVX-512 small-matrix kernel would run it, and that kernel calls
    /// malloc on every call: a step must allocate nothing.
    private let weightTransposed: FloatBuffer

    public init(inFeatures: Int, outFeatures: Int, weight: Parameter, bias: Parameter) {
        precondition(weight.count == inFeatures * outFeatures && bias.count == outFeatures, "Linear parameter size")
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.weight = weight
        self.bias = bias
        weightTransposed = FloatBuffer(count: inFeatures * outFeatures)
    }

    /// One GEMM per batch slice (see `Conv2d.forward`).
    public func forward(_ input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, slices: [Int]) {
        let batch = slices.reduce(0, +)
        for n in 0..<batch { (output + n * outFeatures).update(from: bias.value, count: outFeatures) }
        Parallel.forEachSlice(slices) { _, _, start, size in
            BLAS.gemm(transposeA: false, transposeB: true, m: size, n: outFeatures, k: inFeatures,
                      a: input + start * inFeatures, lda: inFeatures, b: weight.value, ldb: inFeatures, beta: 1,
                      c: output + start * outFeatures, ldc: outFeatures)
        }
    }

    /// Gradients of weight and bias summed over the batch slice by slice (see `Parameter`).
    public func backward(_ input: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>,
                         gradInput: UnsafeMutablePointer<Float>?, slices: [Int], scratch: ThreadScratch) {
        let batch = slices.reduce(0, +)
        weight.sumOverSlices(slices, scratch: scratch) { _, start, size, partial in
            BLAS.gemm(transposeA: true, transposeB: false, m: outFeatures, n: inFeatures, k: size,
                      a: gradOutput + start * outFeatures, lda: outFeatures, b: input + start * inFeatures, ldb: inFeatures,
                      c: partial, ldc: inFeatures)
        }
        BiasGradient.sumColumns(gradOutput, rows: batch, columns: outFeatures, slices: slices, into: bias)
        guard let gradInput else { return }
        let transposed = weightTransposed.pointer
        for o in 0..<outFeatures {
            for i in 0..<inFeatures { transposed[i * outFeatures + o] = weight.value[o * inFeatures + i] }
        }
        Parallel.forEachSlice(slices) { _, _, start, size in
            BLAS.gemm(transposeA: false, transposeB: true, m: size, n: inFeatures, k: outFeatures,
                      a: gradOutput + start * outFeatures, lda: outFeatures, b: transposed, ldb: outFeatures,
                      c: gradInput + start * inFeatures, ldc: inFeatures)
        }
    }
}
