/* What the kernels of this target share: 8- and 4-lane float vectors (clang's vector
 * extensions; unaligned loads and stores), always-inlined helpers, and the way each kernel
 * is built several times on x86-64: its body lives in a `*_kernels.inc` file that variants.h
 * includes under `#pragma clang attribute` for AVX-512 (names ending `_avx512`), for AVX2 +
 * FMA (`_avx2`) and once plainly for the baseline (`_baseline`); the public function calls
 * the one `dae_kernels_build()` picks (`DISPATCH`). */
#ifndef DAE_KERNELS_SIMD_H
#define DAE_KERNELS_SIMD_H

typedef float v8 __attribute__((vector_size(32), aligned(4)));
typedef int v8i __attribute__((vector_size(32), aligned(4)));
typedef float v4 __attribute__((vector_size(16), aligned(4)));

#define HELPER static inline __attribute__((always_inline))

#if defined(__x86_64__)
#define HAS_X86_VARIANTS 1
#else
#define HAS_X86_VARIANTS 0
#endif

#include "cpu.h"
#include "kernels.h"

/* Calls the build of kernel `name` that include/kernels.h chose. */
#if HAS_X86_VARIANTS
#define DISPATCH(name, ...)                                                                   \
    switch (dae_kernels_build()) {                                                            \
    case DAE_ISA_AVX512: name##_avx512(__VA_ARGS__); break;                                   \
    case DAE_ISA_AVX2_FMA: name##_avx2(__VA_ARGS__); break;                                   \
    default: name##_baseline(__VA_ARGS__); break;                                             \
    }
#else
#define DISPATCH(name, ...) name##_baseline(__VA_ARGS__)
#endif

/* Helpers are macros or take pointers: a function returning a v8 would need AVX in its own ABI. */
#define load(p) (*(const v8 *)(p))
#define load4(p) (*(const v4 *)(p))
#define SPLAT(value) ((v8){value, value, value, value, value, value, value, value})
#define SPLAT4(value) ((v4){value, value, value, value})

#endif
