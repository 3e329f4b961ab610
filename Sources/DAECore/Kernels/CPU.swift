import CKernels
#if canImport(Glibc)
import Glibc
#endif

/// A vector instruction set, narrowest first: each includes the ones before it.
public enum ISA: Int32, Sendable, Comparable, CaseIterable {
    case baseline, sse4_2, avx, avx2FMA, avx512

    /// From a `DAE_ISA_` level of CKernels' cpu.h.
    public init(level: Int32) { self = ISA(rawValue: level) ?? .baseline }

    /// "baseline", "SSE4.2", "AVX", "AVX2+FMA", "AVX-512".
    public var name: String { String(cString: dae_isa_name(rawValue)) }

    public static func < (a: ISA, b: ISA) -> Bool { a.rawValue < b.rawValue }
}

/// What this CPU is and can run, from CPUID: the GEMM kernel and the C kernels' build are
/// chosen from it, and every speed figure is reported with it.
public enum CPU {
    /// The widest instruction set the CPU (and the operating system) supports.
    public static var isa: ISA { ISA(level: dae_cpu_isa()) }

    /// The brand string, such as "AMD EPYC 9B14" (a VM may show less: "AMD EPYC").
    public static var model: String { String(cString: dae_cpu_model()) }

    /// CPUID's family and model numbers, which say the generation where the brand string does
    /// not (family 25 model 17 is AMD Zen 4; family 6 model 207 Intel Emerald Rapids).
    public static var family: Int { Int(dae_cpu_family()) }
    public static var modelNumber: Int { Int(dae_cpu_model_number()) }

    /// Bytes of one core's L2 cache, as the system reports it (1 MB where it does not): what
    /// a pass over more than this writes goes out to L3 or memory (see `BatchNorm2d`).
    public static let level2CacheBytes: Int = {
        #if canImport(Glibc)
        let size = sysconf(Int32(_SC_LEVEL2_CACHE_SIZE))
        if size > 0 { return size }
        #endif
        return 1 << 20
    }()

    /// "AMD EPYC (family 25, model 17; AVX-512)": the CPU as every speed figure names it.
    public static var description: String { "\(model) (family \(family), model \(modelNumber); \(isa.name))" }
}
