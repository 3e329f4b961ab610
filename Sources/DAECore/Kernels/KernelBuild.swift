import CKernels

/// Which build of the C kernels (`CKernels`: the direct single-channel convolutions and the
/// halving im2col/col2im) runs. On x86-64 each is built for AVX2 + FMA and for the baseline;
/// the AVX2 build runs when the CPU has both, unless the environment variable `DAE_KERNELS`
/// is `baseline`. The two differ in rounding (FMA), not in what they compute.
public enum KernelBuild {
    public static var usesAVX2: Bool { dae_kernels_avx2() != 0 }

    public static var name: String { usesAVX2 ? "AVX2+FMA" : "baseline" }

    /// Forces the baseline build (or goes back to the CPU's choice): the tests check both.
    public static func forceBaseline(_ baseline: Bool) { dae_kernels_set_baseline(baseline ? 1 : 0) }
}
