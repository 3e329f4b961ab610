/* Direct 3x3 convolutions between one channel and many; the maps are documented in
 * include/direct3x3.h and DAECore's Direct3x3.swift.
 *
 * C rather than Swift so that these compute-bound loops run with AVX2 + FMA where the CPU
 * has them (see simd.h; the kernels themselves are in direct3x3_kernels.inc); the package
 * otherwise builds for the baseline.
 *
 * Single-channel planes are copied into zero-bordered planes in the workspace (rows of
 * `stride`, a multiple of 8 with room for both borders), so every tap is one unaligned
 * 8-wide load. Channels are the outer loop and the slice's images the inner one, so the
 * multi-channel tensor streams through memory in long contiguous runs. Every sum runs in a
 * fixed order: results do not depend on threads. */
#include "direct3x3.h"
#include "simd.h"
#include <string.h>

/* Geometry of the padded planes: `stride` floats per row, `size` per plane (H + 2 rows and
 * 8 floats of slack for the last row's loads). */
typedef struct { long height, width, stride, size; } Padded;

HELPER Padded padded_geometry(long height, long width) {
    Padded p;
    p.height = height;
    p.width = width;
    p.stride = (width + 2 + 7) / 8 * 8;
    p.size = (height + 2) * p.stride + 8;
    return p;
}

long dae_direct3x3_workspace_floats(long images, long height, long width) {
    Padded p = padded_geometry(height, width);
    return images * p.size + images * height * p.stride;
}

/* Copies `width` floats. Rows of 8 or more are copied 8 at a time, the last 8 overlapping
 * the ones before: a memcpy call per short row costs more than the copy. */
HELPER void copy_row(float *to, const float *from, long width) {
    if (width < 8) {
        memcpy(to, from, width * sizeof(float));
        return;
    }
    for (long x = 0; x + 8 < width; x += 8) *(v8 *)(to + x) = load(from + x);
    *(v8 *)(to + width - 8) = load(from + width - 8);
}

/* Copies an H x W plane into a padded plane's interior (row y + 1, column 1 on); the rest
 * of it must be 0 already. */
HELPER void pad(const float *plane, Padded p, float *padded) {
    for (long y = 0; y < p.height; y++) copy_row(padded + (y + 1) * p.stride + 1, plane + y * p.width, p.width);
}

/* *acc += sum_t k[t] * (tap t of the 8 pixels whose padded row starts at r): tap t of a
 * kernel centred on pixel (y, x) reads padded[(y + t / 3) * stride + x + t % 3]. */
HELPER void add_taps(v8 *acc, const float *r, long stride, const v8 k[9]) {
    const float *r1 = r + stride, *r2 = r + 2 * stride;
    *acc += k[0] * load(r) + k[1] * load(r + 1) + k[2] * load(r + 2)
         + k[3] * load(r1) + k[4] * load(r1 + 1) + k[5] * load(r1 + 2)
         + k[6] * load(r2) + k[7] * load(r2 + 1) + k[8] * load(r2 + 2);
}

/* s[t] += v * (tap t of the 8 pixels whose padded row starts at r), as in `add_taps`. */
HELPER void accumulate_taps(v8 s[9], const v8 *v, const float *r, long stride) {
    const float *r1 = r + stride, *r2 = r + 2 * stride;
    s[0] += *v * load(r); s[1] += *v * load(r + 1); s[2] += *v * load(r + 2);
    s[3] += *v * load(r1); s[4] += *v * load(r1 + 1); s[5] += *v * load(r1 + 2);
    s[6] += *v * load(r2); s[7] += *v * load(r2 + 1); s[8] += *v * load(r2 + 2);
}

/* The nine weights of a channel, each in 8 lanes; `flip` turns the kernel by 180 degrees. */
HELPER void broadcast(const float *weights, int flip, v8 k[9]) {
    for (int t = 0; t < 9; t++) {
        float value = weights[flip ? 8 - t : t];
        k[t] = SPLAT(value);
    }
}

#define KERNELS_FILE "direct3x3_kernels.inc"
#include "variants.h"

void dae_direct3x3_convolve(const float *single, const float *weights, const float *bias, float *multi,
                            long channels, long first, long count, long batch, long height, long width,
                            float *workspace) {
    DISPATCH(convolve, single, weights, bias, multi, channels, first, count, batch, height, width, workspace);
}

void dae_direct3x3_convolve_adjoint(const float *multi, const float *weights, float initial, float *single,
                                    long channels, long first, long count, long batch, long height, long width,
                                    float *workspace) {
    DISPATCH(convolve_adjoint, multi, weights, initial, single, channels, first, count, batch, height, width, workspace);
}

void dae_direct3x3_weight_gradient(const float *multi, const float *single, float *partial,
                                   long channels, long first, long count, long batch, long height, long width,
                                   float *workspace) {
    DISPATCH(weight_gradient, multi, single, partial, channels, first, count, batch, height, width, workspace);
}
