/* Includes the kernels file named by KERNELS_FILE twice (see simd.h): for AVX2 + FMA, its
 * `VARIANT(name)`s becoming `name_avx2` (x86-64 only), and for the baseline, `name_baseline`.
 * No include guard: each kernels file includes it once, after defining KERNELS_FILE. */
#if HAS_AVX2_VARIANT
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
