import CKernels

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

    /// The brand string, such as "AMD EPYC 9B14".
    public static var model: String { String(cString: dae_cpu_model()) }
}
