#ifndef DAE_KERNELS_H
#define DAE_KERNELS_H

/* Which build of this target's kernels runs: on x86-64 each exists for AVX2 + FMA and for
 * the baseline. The AVX2 one runs when the CPU has both, unless the environment variable
 * DAE_KERNELS is "baseline" (read once) or `dae_kernels_set_baseline(1)` was called (tests
 * use it to check both builds). Elsewhere there is only the baseline build. */
int dae_kernels_avx2(void);
void dae_kernels_set_baseline(int baseline);

#endif
