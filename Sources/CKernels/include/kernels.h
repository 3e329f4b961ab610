#ifndef DAE_KERNELS_H
#define DAE_KERNELS_H

/* Which build of this target's kernels runs, as a DAE_ISA_ level of cpu.h. On x86-64 each
 * kernel is built for AVX-512 (DAE_ISA_AVX512: F, CD, BW, DQ, VL, with AVX2 and FMA), for
 * AVX2 + FMA (DAE_ISA_AVX2_FMA) and for the baseline (DAE_ISA_BASELINE); elsewhere only for
 * the baseline. The widest build the CPU supports runs, unless the environment variable
 * DAE_KERNELS (read once) names another: "avx512", "avx2" or "baseline". A build the CPU
 * cannot run is never chosen: asking for one runs the widest the CPU has. */
int dae_kernels_build(void);

/* Makes `isa` the build that runs (as far as the CPU allows); -1 goes back to the choice
 * above. Tests use it to check every build. */
void dae_kernels_set_build(int isa);

#endif
