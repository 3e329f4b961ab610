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
 * multi-channel tensor streams through memory in long contiguous runs. The AVX-512 build,
 * with 32 vector registers, takes channels two at a time, so that each tap loaded serves
 * both; each value's arithmetic is the same as one at a time, so it gives the AVX2 build's
 * bits. Every sum runs in a fixed order: results do not depend on threads. */
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
    return (images + 1) * p.size + images * height * p.stride; /* the adjoint pads two planes at a time */
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

/* The nine taps of the 8 pixels whose padded row starts at r: tap t of a kernel centred on
 * pixel (y, x) reads padded[(y + t / 3) * stride + x + t % 3]. */
HELPER void load_taps(v8 t[9], const float *r, long stride) {
    const float *r1 = r + stride, *r2 = r + 2 * stride;
    t[0] = load(r); t[1] = load(r + 1); t[2] = load(r + 2);
    t[3] = load(r1); t[4] = load(r1 + 1); t[5] = load(r1 + 2);
    t[6] = load(r2); t[7] = load(r2 + 1); t[8] = load(r2 + 2);
}

/* *acc += sum_t k[t] * t[t], in one order wherever it is used. */
HELPER void add_taps(v8 *acc, const v8 t[9], const v8 k[9]) {
    *acc += k[0] * t[0] + k[1] * t[1] + k[2] * t[2] + k[3] * t[3] + k[4] * t[4] + k[5] * t[5]
         + k[6] * t[6] + k[7] * t[7] + k[8] * t[8];
}

/* s[t] += v * t[t]. */
HELPER void accumulate_taps(v8 s[9], const v8 *v, const v8 t[9]) {
    for (int i = 0; i < 9; i++) s[i] += *v * t[i];
}

/* The nine weights of a channel, each in 8 lanes; `flip` turns the kernel by 180 degrees. */
HELPER void broadcast(const float *weights, int flip, v8 k[9]) {
    for (int t = 0; t < 9; t++) {
        float value = weights[flip ? 8 - t : t];
        k[t] = SPLAT(value);
    }
}

/* The bodies of the three kernels for `ch` channels from c (1, or 2 where the registers
 * hold both channels' weights or sums), for images [first, first + count) whose
 * single-channel planes are padded in the workspace (`padded`, one plane per image). */

HELPER void convolve_channels(int ch, long c, const float *weights, const float *bias, float *multi, const float *padded,
                              Padded p, long first, long count, long batch) {
    long plane = p.height * p.width, width = p.width, full = width / 8 * 8, apart = batch * plane;
    v8 k[2][9], start[2], t[9];
    for (int g = 0; g < ch; g++) {
        broadcast(weights + 9 * (c + g), 0, k[g]);
        float b = bias ? bias[c + g] : 0;
        start[g] = SPLAT(b);
    }
    for (long i = 0; i < count; i++) {
        float *out = multi + (c * batch + first + i) * plane;
        for (long y = 0; y < p.height; y++) {
            const float *r = padded + i * p.size + y * p.stride;
            float *row = out + y * width;
            for (long x = 0; x < full; x += 8) {
                load_taps(t, r + x, p.stride);
                for (int g = 0; g < ch; g++) {
                    v8 acc = start[g];
                    add_taps(&acc, t, k[g]);
                    *(v8 *)(row + g * apart + x) = acc;
                }
            }
            if (full < width) { /* the last 8 pixels again, or a row shorter than 8 */
                long x = width < 8 ? 0 : width - 8;
                load_taps(t, r + x, p.stride);
                for (int g = 0; g < ch; g++) {
                    v8 tail = start[g];
                    add_taps(&tail, t, k[g]);
                    if (width < 8) memcpy(row + g * apart, &tail, width * sizeof(float));
                    else *(v8 *)(row + g * apart + x) = tail;
                }
            }
        }
    }
}

/* `padded`: `ch` zero-bordered planes; `total`: the images' sums, rows `stride` apart. */
HELPER void convolve_adjoint_channels(int ch, long c, const float *multi, const float *weights, float *padded, float *total,
                                      Padded p, long first, long count, long batch) {
    long plane = p.height * p.width, sums = p.height * p.stride; /* per image, columns past W unused */
    v8 k[2][9], t[9];
    for (int g = 0; g < ch; g++) broadcast(weights + 9 * (c + g), 1, k[g]);
    for (long i = 0; i < count; i++) {
        for (int g = 0; g < ch; g++) pad(multi + ((c + g) * batch + first + i) * plane, p, padded + g * p.size);
        float *sum = total + i * sums;
        /* Row-major over the padded stride: lanes past W read the next row and are never copied out. */
        for (long j = 0; j < sums; j += 8) {
            v8 acc = load(sum + j);
            for (int g = 0; g < ch; g++) {
                load_taps(t, padded + g * p.size + j, p.stride);
                add_taps(&acc, t, k[g]);
            }
            *(v8 *)(sum + j) = acc;
        }
    }
}

HELPER void weight_gradient_channels(int ch, long c, const float *multi, float *partial, const float *padded, Padded p,
                                     long first, long count, long batch) {
    long plane = p.height * p.width, width = p.width, full = width / 8 * 8, apart = batch * plane;
    v8i tail_mask;
    for (int lane = 0; lane < 8; lane++) tail_mask[lane] = lane >= 8 - (width - full) ? -1 : 0;
    v8 s[2][9], t[9];
    for (int g = 0; g < ch; g++)
        for (int i = 0; i < 9; i++) s[g][i] = SPLAT(0.0f);
    for (long i = 0; i < count; i++) {
        const float *grad = multi + (c * batch + first + i) * plane;
        for (long y = 0; y < p.height; y++) {
            const float *r = padded + i * p.size + y * p.stride, *row = grad + y * width;
            for (long x = 0; x < full; x += 8) {
                load_taps(t, r + x, p.stride);
                for (int g = 0; g < ch; g++) accumulate_taps(s[g], (const v8 *)(row + g * apart + x), t);
            }
            if (full < width && width >= 8) { /* the last 8 pixels, those already summed masked out */
                load_taps(t, r + width - 8, p.stride);
                for (int g = 0; g < ch; g++) {
                    v8 v = (v8)((v8i)load(row + g * apart + width - 8) & tail_mask);
                    accumulate_taps(s[g], &v, t);
                }
            } else if (full < width) {
                load_taps(t, r, p.stride);
                for (int g = 0; g < ch; g++) {
                    v8 v = {0};
                    memcpy(&v, row + g * apart, width * sizeof(float)); /* lanes past W stay 0 */
                    accumulate_taps(s[g], &v, t);
                }
            }
        }
    }
    for (int g = 0; g < ch; g++)
        for (int i = 0; i < 9; i++) {
            float sum = 0;
            for (int lane = 0; lane < 8; lane++) sum += s[g][i][lane];
            partial[9 * (c + g) + i] = sum;
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
