/* The choice between the AVX2 + FMA and the baseline builds of the kernels (include/kernels.h). */
#include "kernels.h"
#include "simd.h"
#include <stdlib.h>
#include <string.h>

/* -1 until first asked; a benign race: every thread computes the same answer. */
static int avx2 = -1;

int dae_kernels_avx2(void) {
    if (avx2 < 0) {
        const char *choice = getenv("DAE_KERNELS");
        int baseline = choice != NULL && strcmp(choice, "baseline") == 0;
#if HAS_AVX2_VARIANT
        __builtin_cpu_init();
        avx2 = !baseline && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
        (void)baseline;
        avx2 = 0;
#endif
    }
    return avx2;
}

void dae_kernels_set_baseline(int baseline) {
    avx2 = -1;
    avx2 = baseline ? 0 : dae_kernels_avx2();
}
