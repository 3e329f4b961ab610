/// `nn.Linear`: `y[N][out] = x[N][in] W^T + b`, weight `[out][in]` as PyTorch.
/// Activations here are sample-major (`[N][features]`), as a flattened image is.
public struct Linear {
    public let inFeatures: Int
    public let outFeatures: Int
    public let weight: Parameter
    public let bias: Parameter

    public init(inFeatures: Int, outFeatures: Int, weight: Parameter, bias: Parameter) {
        precondition(weight.count == inFeatures * outFeatures && bias.count == outFeatures, "Linear parameter size")
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.weight = weight
        self.bias = bias
    }

    public func forward(_ input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, batch: Int) {
        for n in 0..<batch { (output + n * outFeatures).update(from: bias.value, count: outFeatures) }
        BLAS.gemm(transposeA: false, transposeB: true, m: batch, n: outFeatures, k: inFeatures,
                  a: input, lda: inFeatures, b: weight.value, ldb: inFeatures, beta: 1, c: output, ldc: outFeatures)
    }

    public func backward(_ input: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>,
                         gradInput: UnsafeMutablePointer<Float>?, batch: Int) {
        BLAS.gemm(transposeA: true, transposeB: false, m: outFeatures, n: inFeatures, k: batch,
                  a: gradOutput, lda: outFeatures, b: input, ldb: inFeatures, c: weight.gradient, ldc: inFeatures)
        for j in 0..<outFeatures {
            var total: Double = 0
            for n in 0..<batch { total += Double(gradOutput[n * outFeatures + j]) }
            bias.gradient[j] = Float(total)
        }
        guard let gradInput else { return }
        BLAS.gemm(transposeA: false, transposeB: false, m: batch, n: inFeatures, k: outFeatures,
                  a: gradOutput, lda: outFeatures, b: weight.value, ldb: inFeatures, c: gradInput, ldc: inFeatures)
    }
}
