import CKernels

/// Which build of the C kernels (`CKernels`: the direct single-channel convolutions and the
/// halving im2col/col2im) runs. On x86-64 each is built for AVX-512, for AVX2 + FMA and for
/// the baseline; the widest the CPU supports runs, unless the environment variable
/// `DAE_KERNELS` is `avx512`, `avx2` or `baseline`. The AVX-512 and AVX2 builds of a kernel
/// give the same bits (the same arithmetic in the same order); the baseline rounds
/// differently (no FMA). The AVX-512 build also makes the halving convolutions' three
/// products itself (`Halving`), which may round differently from OpenBLAS.
public enum KernelBuild {
    /// The builds that exist, narrowest first: `.baseline`, `.avx2FMA`, `.avx512` on x86-64.
    public static let all: [ISA] = {
        #if arch(x86_64)
        return [.baseline, .avx2FMA, .avx512]
        #else
        return [.baseline]
        #endif
    }()

    /// The builds this CPU can run.
    public static var runnable: [ISA] { all.filter { $0 <= CPU.isa } }

    /// The build that runs.
    public static var current: ISA { ISA(level: dae_kernels_build()) }

    public static var name: String { current.name }

    /// Runs `build` (as far as the CPU allows), or with nil goes back to the CPU's and
    /// `DAE_KERNELS`' choice: the tests check every build.
    public static func force(_ build: ISA?) { dae_kernels_set_build(build?.rawValue ?? -1) }
}
