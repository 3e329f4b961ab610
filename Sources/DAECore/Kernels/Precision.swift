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
            if dae_cpu_has_avx512_bf16() == 0 {
                return "--precision bf16 needs AVX-512 BF16 (AVX512_BF16), which this CPU (\(CPU.model)) lacks; "
                    + "use --precision fp32 (the default)"
            }
            return "--precision bf16 runs AVX-512 kernels, and DAE_KERNELS holds dae-dist to its \(KernelBuild.name) ones; "
                + "unset DAE_KERNELS or use --precision fp32 (the default)"
        }
    }
}

extension Precision {
    /// How many times faster this CPU runs the model's products in bf16 than in fp32,
    /// measured now (about 20 ms) on one of a step's largest products (m 64, n 784, k 288:
    /// a 64-channel convolution's forward over one image's columns). Below 1 where the CPU's
    /// BF16 dot products run at a fraction of its float FMAs' rate, as on Intel Xeons whose
    /// AMX is not exposed: there bf16 saves nothing and costs accuracy.
    public static func measuredBF16Speedup() -> Double {
        let (m, n, k) = (64, 784, 288)
        let a = FloatBuffer(count: m * k), b = FloatBuffer(count: k * n), c = FloatBuffer(count: m * n)
        for i in 0..<a.count { a[i] = Float(i % 7) * 0.1 }
        for i in 0..<b.count { b[i] = Float(i % 5) * 0.1 }
        let saved = BLAS.precision
        defer { BLAS.precision = saved }
        func seconds(_ precision: Precision) -> Double {
            BLAS.precision = precision
            var best = Double.infinity
            for _ in 0..<5 {
                let start = Clock.seconds()
                for _ in 0..<4 { BLAS.gemm(transposeA: false, transposeB: false, m: m, n: n, k: k, a: a.pointer, lda: k, b: b.pointer, ldb: n, c: c.pointer, ldc: n) }
                best = min(best, Clock.seconds() - start)
            }
            return best
        }
        _ = seconds(.bf16)  // the thread's packing buffers, and warm caches
        return seconds(.fp32) / seconds(.bf16)
    }
}
