/* The choice between the builds of the kernels (include/kernels.h). */
#include "kernels.h"
#include "cpu.h"
#include "simd.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* -1 until first asked. Threads that ask at once all compute the same answer, so relaxed
 * atomics are enough. */
static int build = -1;

/* The widest build there is that `isa` can run. */
static int runnable(int isa) {
    int widest = HAS_X86_VARIANTS ? dae_cpu_isa() : DAE_ISA_BASELINE;
    if (isa > widest) isa = widest;
    if (isa >= DAE_ISA_AVX512) return DAE_ISA_AVX512;
    if (isa >= DAE_ISA_AVX2_FMA) return DAE_ISA_AVX2_FMA;
    return DAE_ISA_BASELINE;
}

static int environment_choice(void) {
    const char *choice = getenv("DAE_KERNELS");
    if (choice == NULL || choice[0] == 0) return runnable(DAE_ISA_AVX512);
    if (strcmp(choice, "avx512") == 0) return runnable(DAE_ISA_AVX512);
    if (strcmp(choice, "avx2") == 0) return runnable(DAE_ISA_AVX2_FMA);
    if (strcmp(choice, "baseline") == 0) return DAE_ISA_BASELINE;
    int widest = runnable(DAE_ISA_AVX512);
    fprintf(stderr, "dae-dist: warning: DAE_KERNELS=%s is none of avx512, avx2, baseline; running the %s kernels\n",
            choice, dae_isa_name(widest));
    return widest;
}

int dae_kernels_build(void) {
    int value = __atomic_load_n(&build, __ATOMIC_RELAXED);
    if (value < 0) {
        value = environment_choice();
        __atomic_store_n(&build, value, __ATOMIC_RELAXED);
    }
    return value;
}

void dae_kernels_set_build(int isa) {
    __atomic_store_n(&build, isa < 0 ? environment_choice() : runnable(isa), __ATOMIC_RELAXED);
}
