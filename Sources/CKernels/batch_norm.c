/* BatchNorm's passes over a channel's values (include/batch_norm.h; the kernels are in
 * batch_norm_kernels.inc, built once per variant, see simd.h). They read activations larger
 * than the cache, so each sum runs in four independent 8-lane registers (no wait on the
 * adder's latency between loads), flushed into Double once per block. */
#include "batch_norm.h"
#include "simd.h"
#if HAS_X86_VARIANTS
#include <immintrin.h>
#endif

#define BLOCK 256

typedef struct { v8 lane[4]; float tail; } Partial;

HELPER void partial_clear(Partial *p) {
    for (int k = 0; k < 4; k++) p->lane[k] = SPLAT(0.0f);
    p->tail = 0;
}

/* The block's lanes added in a fixed tree, then its scalar tail. */
HELPER float partial_total(const Partial *p) {
    v8 all = (p->lane[0] + p->lane[1]) + (p->lane[2] + p->lane[3]);
    v4 half = __builtin_shufflevector(all, all, 0, 1, 2, 3) + __builtin_shufflevector(all, all, 4, 5, 6, 7);
    float total = (half[0] + half[2]) + (half[1] + half[3]);
    return total + p->tail;
}

/* An aligned v8, for streaming stores. */
typedef float aligned8 __attribute__((vector_size(32)));

/* Streaming stores are weakly ordered: fenced before another thread may read what they wrote. */
HELPER void store_fence(void) {
#if HAS_X86_VARIANTS
    _mm_sfence();
#endif
}

/* The LeakyReLU's input, vector and scalar: the same operations (fused where the build has FMA). */
#define PRE(x) (SPLAT(scale) * (x) + SPLAT(shift))
HELPER float pre1(float x, float scale, float shift) { return scale * x + shift; }

#define KERNELS_FILE "batch_norm_kernels.inc"
#include "variants.h"

void dae_sum_and_squares(const float *x, long count, double *sums) {
    DISPATCH(sum_and_squares, x, count, sums);
}

double dae_sum(const float *x, long count) {
    double total = 0;
    DISPATCH(sum, x, count, &total);
    return total;
}

void dae_affine_leaky_relu(const float *x, float *y, long count, float scale, float shift, float slope, int stream) {
    DISPATCH(affine_leaky_relu, x, y, count, scale, shift, slope, stream);
}

void dae_activation_gradient_sums(const float *dy, const float *x, long count, float scale, float shift,
                                  float slope, float mean, double *sums) {
    DISPATCH(activation_gradient_sums, dy, x, count, scale, shift, slope, mean, sums);
}

double dae_batch_norm_input_gradient(const float *dy, const float *x, float *g, long count, float scale, float shift,
                                     float slope, float input_scale, float mean_dy, float mean, float a) {
    double total = 0;
    DISPATCH(batch_norm_input_gradient, dy, x, g, count, scale, shift, slope, input_scale, mean_dy, mean, a, &total);
    return total;
}
