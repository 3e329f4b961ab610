/* The choice between the AVX2 + FMA and the baseline builds of the kernels (include/kernels.h). */
#include "kernels.h"
#include "simd.h"
#include <stdlib.h>
#include <string.h>

/* -1 until first asked. Threads that ask at once all compute the same answer, so relaxed
 * atomics are enough. */
static int avx2 = -1;

static int cpu_choice(void) {
    const char *choice = getenv("DAE_KERNELS");
    if (choice != NULL && strcmp(choice, "baseline") == 0) return 0;
#if HAS_AVX2_VARIANT
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

int dae_kernels_avx2(void) {
    int value = __atomic_load_n(&avx2, __ATOMIC_RELAXED);
    if (value < 0) {
        value = cpu_choice();
        __atomic_store_n(&avx2, value, __ATOMIC_RELAXED);
    }
    return value;
}

void dae_kernels_set_baseline(int baseline) {
    __atomic_store_n(&avx2, baseline ? 0 : cpu_choice(), __ATOMIC_RELAXED);
}
