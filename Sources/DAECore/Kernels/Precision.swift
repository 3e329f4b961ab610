import CKernels

/// What the convolution and Linear products read: float32 operands (OpenBLAS's sgemm), or
/// operands rounded to bfloat16 with float32 sums (`dae_bf16_gemm`, AVX-512 BF16). Either
/// way parameters, gradient sums, Adam, BatchNorm, the loss and checkpoints stay float32 or
/// Double; only the products' inputs are rounded, as under PyTorch's bf16 autocast.
public enum Precision: String, Sendable, CaseIterable, Codable {
    case fp32
    case bf16

    /// The product kernel it runs: "OpenBLAS 0.3.21, Cooperlake kernel (AVX-512)" or
    /// "dae-dist AVX512-BF16 8x48".
    public var kernel: String {
        switch self {
        case .fp32: return BLAS.library.description
        case .bf16: return "dae-dist " + String(cString: dae_bf16_gemm_kernel())
        }
    }

    /// Nil where this CPU runs it; else why not, naming the CPU and what it lacks.
    public var unavailableReason: String? {
        switch self {
        case .fp32: return nil
        case .bf16:
            if dae_bf16_gemm_available() != 0 { return nil }
            return "--precision bf16 needs AVX-512 BF16 (AVX512_BF16), which this CPU (\(CPU.model)) lacks; "
                + "use --precision fp32 (the default)"
        }
    }
}
