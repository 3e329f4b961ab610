#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif
import CKernels
import Foundation

/// The one BLAS routine the layers need, row-major, in the precision the run chose, and
/// control of BLAS's thread count.
///
/// OpenBLAS on Linux, loaded at its first use with the kernel for this CPU's features (see
/// `CBLAS`'s openblas.c: Debian's OpenBLAS picks by CPU model number and runs SSE3 kernels
/// on models newer than itself); Accelerate on macOS. The rest of the code never imports either.
public enum BLAS {
    /// `C[m x n] = alpha * op(A) * op(B) + beta * C`, all row-major; `op(A)` is `m x k`, `op(B)` is `k x n`.
    @inline(__always)
    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if let recorder = shapeRecorder {
            recorder(GemmShape(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, lda: lda, ldb: ldb, ldc: ldc, beta: beta))
        }
        // OpenBLAS clears C for beta 0 with a scalar store loop; memset is vector-wide. The
        // product is then added to zeros either way: same bits.
        var beta = beta
        if beta == 0 {
            for row in 0..<m { (c + row * ldc).update(repeating: 0, count: n) }
            beta = 1
        }
        if precision == .bf16 {
            return dae_bf16_gemm(transposeA ? 1 : 0, transposeB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        }
        #if canImport(Accelerate)
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
        #else
        dae_sgemm(transposeA ? 1 : 0, transposeB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        #endif
    }

    /// What every `gemm` reads its operands as: set once, before the first step, by the
    /// command that runs the model (`train --precision`, `bench --precision`); fp32 unless
    /// told. Process-wide like the thread count: the products of one process are all of one kind.
    nonisolated(unsafe) public static var precision: Precision = .fp32

    /// When set, sees the shape of every `gemm` call: how `dae-dist bench` learns the products
    /// a training step makes, to time them alone (while it is set, the halving convolutions'
    /// fused products go through `gemm` too: `Halving.fuses`). Nil (one untaken branch)
    /// during training.
    nonisolated(unsafe) public static var shapeRecorder: ((GemmShape) -> Void)?

    /// Threads BLAS may use in each call (per process: with several ranks on one machine,
    /// keep ranks x threads <= cores).
    public static func setThreads(_ count: Int) {
        #if !canImport(Accelerate)
        dae_blas_set_threads(Int32(max(1, count)))
        #endif
    }

    public static var threads: Int {
        #if canImport(Accelerate)
        return 1
        #else
        return Int(dae_blas_threads())
        #endif
    }

    /// The GEMM library and the kernel it runs. Asking loads the library, so `dae-dist` asks
    /// first thing, while it is still the process's only thread (loading sets and unsets
    /// `OPENBLAS_CORETYPE`).
    public static var library: GEMMLibrary {
        #if canImport(Accelerate)
        return GEMMLibrary(name: "Accelerate", version: nil, kernel: "Accelerate", isa: CPU.isa, chosenBy: .library)
        #else
        let kernel = String(cString: dae_blas_kernel())
        let chosenBy: GEMMLibrary.Choice
        if dae_blas_chosen_coretype() != nil {
            chosenBy = .cpuFeatures
        } else if let users = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"], !users.isEmpty {
            chosenBy = .user("OPENBLAS_CORETYPE=\(users)")
        } else {
            chosenBy = .library
        }
        return GEMMLibrary(name: "OpenBLAS", version: String(cString: dae_blas_version()), kernel: kernel,
                           isa: ISA(level: dae_blas_kernel_isa(kernel)), chosenBy: chosenBy)
        #endif
    }
}

/// The arguments of one `BLAS.gemm` call, without its data (alpha is always 1 here).
public struct GemmShape: Sendable, Hashable {
    public let transposeA: Bool, transposeB: Bool
    public let m: Int, n: Int, k: Int
    public let lda: Int, ldb: Int, ldc: Int
    /// 0 (C is overwritten, so cleared first) or 1 (the product is added to C).
    public let beta: Float

    public init(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, lda: Int, ldb: Int, ldc: Int, beta: Float = 0) {
        (self.transposeA, self.transposeB, self.m, self.n, self.k) = (transposeA, transposeB, m, n, k)
        (self.lda, self.ldb, self.ldc, self.beta) = (lda, ldb, ldc, beta)
    }

    public var flops: Int { 2 * m * n * k }
    /// Floats each operand spans in row-major storage with its leading dimension.
    public var spanA: Int { (transposeA ? k : m) * lda }
    public var spanB: Int { (transposeB ? n : k) * ldb }
    public var spanC: Int { m * ldc }
}
