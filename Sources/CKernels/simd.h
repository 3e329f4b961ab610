/* What the kernels of this target share: 8- and 4-lane float vectors (clang's vector
 * extensions; unaligned loads and stores), always-inlined helpers, and the way each kernel
 * is built twice on x86-64: its body lives in a `*_kernels.inc` file that variants.h
 * includes once under `#pragma clang attribute` for AVX2 + FMA (names ending `_avx2`) and
 * once for the baseline (`_baseline`); the public function calls the one
 * `dae_kernels_avx2()` picks (`DISPATCH`). */
#ifndef DAE_KERNELS_SIMD_H
#define DAE_KERNELS_SIMD_H

typedef float v8 __attribute__((vector_size(32), aligned(4)));
typedef int v8i __attribute__((vector_size(32), aligned(4)));
typedef float v4 __attribute__((vector_size(16), aligned(4)));

#define HELPER static inline __attribute__((always_inline))

#if defined(__x86_64__)
#define HAS_AVX2_VARIANT 1
#else
#define HAS_AVX2_VARIANT 0
#endif

/* Whether to run the AVX2 + FMA variants (see include/kernels.h). */
int dae_kernels_avx2(void);

#if HAS_AVX2_VARIANT
#define DISPATCH(name, ...) (dae_kernels_avx2() ? name##_avx2(__VA_ARGS__) : name##_baseline(__VA_ARGS__))
#else
#define DISPATCH(name, ...) name##_baseline(__VA_ARGS__)
#endif

/* Helpers are macros or take pointers: a function returning a v8 would need AVX in its own ABI. */
#define load(p) (*(const v8 *)(p))
#define load4(p) (*(const v4 *)(p))
#define SPLAT(value) ((v8){value, value, value, value, value, value, value, value})
#define SPLAT4(value) ((v4){value, value, value, value})

#endif
