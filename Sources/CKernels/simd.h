/* What the kernels of this target share: 8- and 4-lane float vectors (clang's vector
 * extensions; unaligned loads and stores), and the attribute that builds a function twice,
 * for AVX2 + FMA and for the baseline, the loader picking the one this CPU runs
 * (`target_clones`, x86-64 Linux; elsewhere the compiler's default target). */
#ifndef DAE_KERNELS_SIMD_H
#define DAE_KERNELS_SIMD_H

typedef float v8 __attribute__((vector_size(32), aligned(4)));
typedef int v8i __attribute__((vector_size(32), aligned(4)));
typedef float v4 __attribute__((vector_size(16), aligned(4)));

#if defined(__x86_64__) && defined(__linux__)
#define MULTIVERSIONED __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define MULTIVERSIONED
#endif

/* Helpers are macros or take pointers: a function returning a v8 would need AVX in its own ABI. */
#define load(p) (*(const v8 *)(p))
#define load4(p) (*(const v4 *)(p))
#define SPLAT(value) ((v8){value, value, value, value, value, value, value, value})
#define SPLAT4(value) ((v4){value, value, value, value})

#endif
