/* Includes the kernels file named by KERNELS_FILE once per build (see simd.h): on x86-64 for
 * AVX-512, its `VARIANT(name)`s becoming `name_avx512` (with VARIANT_AVX512 defined, for code
 * only that build has), and for AVX2 + FMA, `name_avx2`; then for the baseline,
 * `name_baseline`. The builds run the same arithmetic in the same order: AVX-512 and AVX2
 * differ in the instructions chosen, not in results; the baseline has no FMA.
 * No include guard: each kernels file includes it once, after defining KERNELS_FILE. */
#if HAS_X86_VARIANTS
#pragma clang attribute push(__attribute__((target("avx512f,avx512cd,avx512bw,avx512dq,avx512vl,avx2,fma"))), apply_to = function)
#define VARIANT(name) name##_avx512
#define VARIANT_AVX512 1
#include KERNELS_FILE
#undef VARIANT_AVX512
#undef VARIANT
#pragma clang attribute pop
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#define VARIANT(name) name##_avx2
#include KERNELS_FILE
#undef VARIANT
#pragma clang attribute pop
#endif
#define VARIANT(name) name##_baseline
#include KERNELS_FILE
#undef VARIANT
#undef KERNELS_FILE
