/* OpenBLAS, loaded with the kernel for this CPU's features (include/openblas.h).
 *
 * OpenBLAS's DYNAMIC_ARCH build (Debian's) picks its kernels once, when the library is
 * loaded, from a table of CPU model numbers. A model newer than the library falls through to
 * its SSE3 kernels: Debian's 0.3.21 on an Intel Xeon of family 6 model 207 runs "Prescott",
 * 8 times slower than its AVX-512 kernel. Before that table it reads OPENBLAS_CORETYPE. So
 * this file sets OPENBLAS_CORETYPE from the CPU's features, unless the user set it, and only
 * then loads the library with dlopen (linked the usual way, OpenBLAS would be loaded, and
 * would have chosen, before main), and unsets it again. */
#include "openblas.h"
#include "cpu.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* cblas.h's enums, as OpenBLAS defines them. */
enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *,
                         int);
static sgemm_fn sgemm;
static void (*set_threads)(int);
static int (*get_threads)(void);
static char *(*get_corename)(void);
static char *(*get_config)(void);
static const char *chosen;
static char version[32] = "unknown";

/* The OpenBLAS kernel for the widest instruction set the CPU has: the one OpenBLAS itself
 * picks for the CPUs it knows of that kind. NULL below AVX, where any pick is as good. */
static const char *coretype_for_cpu(void) {
    switch (dae_cpu_isa()) {
    case DAE_ISA_AVX512: return dae_cpu_has_avx512_bf16() ? "Cooperlake" : "SkylakeX";
    case DAE_ISA_AVX2_FMA: return dae_cpu_is_amd() ? "Zen" : "Haswell";
    case DAE_ISA_AVX: return "Sandybridge";
    default: return NULL;
    }
}

static void *resolve(void *library, const char *name) {
    void *symbol = dlsym(library, name);
    if (symbol == NULL) {
        fprintf(stderr, "dae-dist: the OpenBLAS library found has no %s: install Debian's libopenblas0 "
                        "(launch/install-deps does).\n", name);
        exit(1);
    }
    return symbol;
}

static void load(void) {
    const char *users = getenv("OPENBLAS_CORETYPE");
    if (users == NULL || users[0] == 0) {
        chosen = coretype_for_cpu();
        if (chosen != NULL) setenv("OPENBLAS_CORETYPE", chosen, 1);
    }
    void *library = NULL;
    const char *names[] = {"libopenblas.so.0", "libopenblas.so"};
    for (int i = 0; i < 2 && library == NULL; i++) library = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (chosen != NULL) unsetenv("OPENBLAS_CORETYPE"); /* read at load only; children choose for themselves */
    if (library == NULL) {
        fprintf(stderr, "dae-dist: cannot load OpenBLAS (%s): install Debian's libopenblas0 "
                        "(launch/install-deps does).\n", dlerror());
        exit(1);
    }
    sgemm = (sgemm_fn)resolve(library, "cblas_sgemm");
    set_threads = (void (*)(int))resolve(library, "openblas_set_num_threads");
    get_threads = (int (*)(void))resolve(library, "openblas_get_num_threads");
    get_corename = (char *(*)(void))resolve(library, "openblas_get_corename");
    get_config = (char *(*)(void))resolve(library, "openblas_get_config");
    /* "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Cooperlake MAX_THREADS=64" */
    const char *config = get_config();
    if (config != NULL && strncmp(config, "OpenBLAS ", 9) == 0) {
        size_t length = strcspn(config + 9, " ");
        if (length > 0 && length < sizeof version) {
            memcpy(version, config + 9, length);
            version[length] = 0;
        }
    }
}

static void ensure_loaded(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, load);
}

void dae_sgemm(int transpose_a, int transpose_b, long m, long n, long k, float alpha, const float *a, long lda,
               const float *b, long ldb, float beta, float *c, long ldc) {
    ensure_loaded();
    sgemm(ROW_MAJOR, transpose_a ? TRANS : NO_TRANS, transpose_b ? TRANS : NO_TRANS, (int)m, (int)n, (int)k, alpha, a,
          (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

void dae_blas_set_threads(int count) {
    ensure_loaded();
    set_threads(count);
}

int dae_blas_threads(void) {
    ensure_loaded();
    return get_threads();
}

const char *dae_blas_kernel(void) {
    ensure_loaded();
    const char *name = get_corename();
    return name != NULL ? name : "unknown";
}

const char *dae_blas_version(void) {
    ensure_loaded();
    return version;
}

const char *dae_blas_chosen_coretype(void) {
    ensure_loaded();
    return chosen;
}

int dae_blas_kernel_isa(const char *kernel) {
    static const struct { const char *name; int isa; } kernels[] = {
        {"SkylakeX", DAE_ISA_AVX512}, {"Cooperlake", DAE_ISA_AVX512}, {"SapphireRapids", DAE_ISA_AVX512},
        {"Haswell", DAE_ISA_AVX2_FMA}, {"Zen", DAE_ISA_AVX2_FMA},
        {"Sandybridge", DAE_ISA_AVX}, {"Bulldozer", DAE_ISA_AVX}, {"Piledriver", DAE_ISA_AVX},
        {"Steamroller", DAE_ISA_AVX}, {"Excavator", DAE_ISA_AVX},
        {"Nehalem", DAE_ISA_SSE4_2},
    };
    for (size_t i = 0; i < sizeof kernels / sizeof kernels[0]; i++)
        if (strcasecmp(kernel, kernels[i].name) == 0) return kernels[i].isa;
    return DAE_ISA_BASELINE;
}
