/* The fused products of the halving convolutions (include/halving_conv.h): the forward and
 * the weight gradient, without an im2col buffer.
 *
 * Forward: for each block of NR = 32 output pixels of a slice, for each group of up to 32
 * input channels (288 values of k, a 36 KB panel that stays in L1), the block's columns of
 * im2col are packed from the input rows (`pack`), then every 8 output channels are
 * multiplied by that panel in registers (`kernel`), their sums carried from group to group
 * in the output. A panel row is cut from an input row by one permute per run of the block's
 * pixels that lie in one output row: the stride-2 values of a 3-tap kernel column, with
 * the padding column and whatever lies past the image's edge masked to 0.
 *
 * Weight gradient: the same panels, 128 pixels long, reduced over pixels by the same kernel
 * with the output gradient transposed to pixel-major (`dae_halving_conv_weight_gradient`).
 * Adjoint product (ahead of col2im): the same kernel over a copied panel of its source. */
#include "halving_conv.h"
#include "cpu.h"
#include "kernels.h"
#include <stdlib.h>

enum { MR = 8, NR = 32, GROUP = 32, MAX_WIDTH = 30 };

int dae_halving_conv_applies(long rows, long width) {
#if defined(__x86_64__)
    return dae_kernels_build() == DAE_ISA_AVX512 && rows > 0 && rows % MR == 0 && width >= 2 && width <= MAX_WIDTH;
#else
    (void)rows, (void)width;
    return 0;
#endif
}

long dae_halving_conv_panel_floats(long channels) {
    long group = channels < GROUP ? channels : GROUP;
    return group * 9 * NR;
}

long dae_halving_conv_packed_floats(long rows, long k) { return rows * k; }

/* packed[block][j][i] = row block * 8 + i's value j: a broadcast per row at each j. */
void dae_halving_conv_pack_weights(const float *weight, long rows, long k, int transposed, float *packed) {
    long row_step = transposed ? 1 : k, k_step = transposed ? rows : 1;
    for (long block = 0; block < rows / MR; block++)
        for (long j = 0; j < k; j++)
            for (long i = 0; i < MR; i++) packed[(block * k + j) * MR + i] = weight[(block * MR + i) * row_step + j * k_step];
}

long dae_halving_conv_adjoint_panel_floats(long k) { return k * NR + 16; /* room to align it */ }

/* The weight gradient: pixels in chunks of WG_CHUNK, channels in blocks of WG_CHANNELS,
 * gradient rows in blocks of WG_ROWS (one kernel tile's width). */
enum { WG_CHUNK = 128, WG_CHANNELS = 32, WG_ROWS = NR };

int dae_halving_conv_weight_gradient_applies(long rows, long channels, long width) {
    return dae_halving_conv_applies(rows, width) && rows % WG_ROWS == 0 && channels % WG_CHANNELS == 0;
}

long dae_halving_conv_weight_gradient_scratch_floats(long rows, long channels) {
    return WG_CHANNELS * 9 * WG_CHUNK + rows * WG_CHUNK + channels * 9 * rows;
}

#if defined(__x86_64__)
#include <immintrin.h>

#pragma clang attribute push(__attribute__((target("avx512f,avx512cd,avx512bw,avx512dq,avx512vl,avx2,fma"))), apply_to = function)

/* The runs of one block of pixels: the block's pixels [start, start + length) of image
 * `image`, output row `row`, from output column `column`. A block of 32 pixels of output
 * rows at least 1 wide spans at most 33 runs. */
typedef struct {
    int count;
    int start[NR + 2], image[NR + 2], row[NR + 2], column[NR + 2]; /* start[count]: the block's end */
} Runs;

static void find_runs(long n0, int width, long ow, long plane, long first, Runs *runs) {
    runs->count = 0;
    for (int j = 0; j < width;) {
        long n = n0 + j;
        int q = runs->count++;
        runs->start[q] = j;
        runs->image[q] = (int)(first + n / plane);
        runs->row[q] = (int)(n % plane / ow);
        runs->column[q] = (int)(n % ow);
        long left = ow - runs->column[q];
        j += left < width - j ? (int)left : width - j;
    }
    runs->start[runs->count] = width;
}

/* Pixels in the block that starts `left` pixels before the end. */
static int block_width(long left) { return (int)(left < NR ? left : NR); }

/* The panel's rows (c * 9 + ky * 3 + kx, c over [c0, c0 + channels)) for the block's
 * pixels, rows `ld` floats apart: run by run, kernel row by kernel row, the input row of
 * each channel loaded once (two masked loads from column -1) and its three taps stored,
 * each store masked to the run. */
static void pack(const float *input, const Runs *runs, long c0, long channels, long batch, long height, long width,
                 float *panel, long ld) {
    const __m512i twice = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    /* From column -1: lanes of columns 0 ..< width in the two 16-lane halves. */
    const __mmask16 low = (__mmask16)(((1u << (width + 1 < 16 ? width + 1 : 16)) - 1) & ~1u);
    const __mmask16 high = width > 15 ? (__mmask16)((1u << (width - 15)) - 1) : 0;
    const long channel = batch * height * width;
    for (int q = 0; q < runs->count; q++) {
        const __mmask16 run = (__mmask16)((1u << (runs->start[q + 1] - runs->start[q])) - 1);
        __m512i index[3];
        for (int kx = 0; kx < 3; kx++) index[kx] = _mm512_add_epi32(twice, _mm512_set1_epi32(2 * runs->column[q] + kx));
        for (int ky = 0; ky < 3; ky++) {
            long iy = 2 * runs->row[q] + ky - 1; /* at most height - 1 */
            float *out = panel + ky * 3 * ld + runs->start[q];
            if (iy < 0) {
                for (long c = 0; c < channels; c++, out += 9 * ld)
                    for (int kx = 0; kx < 3; kx++) _mm512_mask_storeu_ps(out + kx * ld, run, _mm512_setzero_ps());
                continue;
            }
            const float *r = input + ((c0 * batch + runs->image[q]) * height + iy) * width - 1;
            for (long c = 0; c < channels; c++, r += channel, out += 9 * ld) {
                __m512 a = _mm512_maskz_loadu_ps(low, r), b = _mm512_maskz_loadu_ps(high, r + 16);
                for (int kx = 0; kx < 3; kx++) _mm512_mask_storeu_ps(out + kx * ld, run, _mm512_permutex2var_ps(a, index[kx], b));
            }
        }
    }
}

/* Asks for the input rows of a block's runs ahead of packing them, into L2: a slice's input
 * is larger than L2, and a panel reads rows a channel apart, which no prefetcher follows.
 * (Into L1, the hundreds of requests wait for its few fill buffers.) */
static void prefetch(const float *input, const Runs *runs, long channels, long batch, long height, long width) {
    for (int q = 0; q < runs->count; q++)
        for (long c = 0; c < channels; c++)
            for (int ky = 0; ky < 3; ky++) {
                long iy = 2 * runs->row[q] + ky - 1;
                if (iy < 0) continue;
                const char *r = (const char *)(input + ((c * batch + runs->image[q]) * height + iy) * width);
                _mm_prefetch(r, _MM_HINT_T1);
                _mm_prefetch(r + 64, _MM_HINT_T1);
            }
}

/* When pixels remain after the block at n0 (`end` pixels in all), finds the next block's
 * runs into `next` and prefetches their input rows of `channels` channels from `input`. */
static void look_ahead(const float *input, long n0, long end, long ow, long plane, long first, long channels, long batch,
                       long height, long width, Runs *next) {
    if (n0 + NR >= end) return;
    find_runs(n0 + NR, block_width(end - n0 - NR), ow, plane, first, next);
    prefetch(input, next, channels, batch, height, width);
}

/* y[i][0 ..< 32] (i < 8, rows `ldy` apart) = (first ? 0 : y) + sum over k < kc, in order,
 * of wp[k * ldw + i * ldi] x panel[k][0 ..< 32], then + bias[i] if `bias`; lanes outside
 * m0/m1 untouched. Inlined, so that each caller's strides are constants. */
static inline __attribute__((always_inline)) void kernel(const float *wp, long ldw, long ldi, const float *panel, long kc,
                                                         float *y, long ldy, __mmask16 m0, __mmask16 m1, int first,
                                                         const float *bias) {
    __m512 c[MR][2];
    for (int i = 0; i < MR; i++) {
        c[i][0] = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m0, y + i * ldy);
        c[i][1] = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m1, y + i * ldy + 16);
    }
    for (long k = 0; k < kc; k++) {
        __m512 b0 = _mm512_load_ps(panel + k * NR), b1 = _mm512_load_ps(panel + k * NR + 16);
        for (int i = 0; i < MR; i++) {
            __m512 a = _mm512_set1_ps(wp[k * ldw + i * ldi]);
            c[i][0] = _mm512_fmadd_ps(a, b0, c[i][0]);
            c[i][1] = _mm512_fmadd_ps(a, b1, c[i][1]);
        }
    }
    for (int i = 0; i < MR; i++) {
        if (bias) {
            __m512 value = _mm512_set1_ps(bias[i]);
            c[i][0] = _mm512_add_ps(c[i][0], value);
            c[i][1] = _mm512_add_ps(c[i][1], value);
        }
        _mm512_mask_storeu_ps(y + i * ldy, m0, c[i][0]);
        _mm512_mask_storeu_ps(y + i * ldy + 16, m1, c[i][1]);
    }
}

/* The lanes of a block `width` pixels wide, in its two 16-lane halves. */
static __mmask16 low_lanes(int width) { return width >= 16 ? 0xFFFF : (__mmask16)((1u << width) - 1); }
static __mmask16 high_lanes(int width) { return width >= 32 ? 0xFFFF : width <= 16 ? 0 : (__mmask16)((1u << (width - 16)) - 1); }

void dae_halving_conv_forward(const float *input, const float *packed, const float *bias, float *output, long rows,
                              long channels, long first, long count, long batch, long height, long width, float *panel) {
    long oh = height / 2, ow = width / 2, plane = oh * ow, pixels = count * plane, k = channels * 9;
    long ldy = batch * plane;
    Runs runs, next = {0};
    find_runs(0, block_width(pixels), ow, plane, first, &runs);
    for (long n0 = 0; n0 < pixels; n0 += NR) {
        int width_here = block_width(pixels - n0);
        look_ahead(input, n0, pixels, ow, plane, first, channels, batch, height, width, &next);
        __mmask16 m0 = low_lanes(width_here), m1 = high_lanes(width_here);
        float *y = output + first * plane + n0;
        for (long c0 = 0; c0 < channels; c0 += GROUP) {
            long group = channels - c0 < GROUP ? channels - c0 : GROUP;
            int is_first = c0 == 0, is_last = c0 + group == channels;
            pack(input, &runs, c0, group, batch, height, width, panel, NR);
            for (long r = 0; r < rows; r += MR)
                kernel(packed + r * k + c0 * 9 * MR, MR, 1, panel, group * 9, y + r * ldy, ldy, m0, m1, is_first,
                       is_last && bias ? bias + r : 0);
        }
        runs = next;
    }
}

/* The adjoint product, 32 pixels at a time: the block's k source rows (a channel apart, so
 * rows that would share a few cache sets) are copied into `panel`, zero past the last
 * pixel, with the next block's rows prefetched; then each 8 rows of col are one kernel call
 * over the panel, which stays in L1. */
void dae_halving_conv_adjoint_columns(const float *packed, long m, long k, const float *source, long ld, long pixels,
                                      float *col, float *panel) {
    panel = (float *)(((unsigned long)panel + 63) & ~63ul);
    for (long n0 = 0; n0 < pixels; n0 += NR) {
        int width_here = block_width(pixels - n0);
        __mmask16 m0 = low_lanes(width_here), m1 = high_lanes(width_here);
        for (long j = 0; j < k; j++) {
            const float *row = source + j * ld + n0;
            _mm512_store_ps(panel + j * NR, _mm512_maskz_loadu_ps(m0, row));
            _mm512_store_ps(panel + j * NR + 16, _mm512_maskz_loadu_ps(m1, row + 16));
            if (n0 + NR < pixels) {
                _mm_prefetch((const char *)(row + NR), _MM_HINT_T0);
                _mm_prefetch((const char *)(row + NR + 16), _MM_HINT_T0);
            }
        }
        for (long r = 0; r < m; r += MR) kernel(packed + r * k, MR, 1, panel, k, col + r * pixels + n0, pixels, m0, m1, 1, 0);
    }
}

/* Rows r[0 ..< 16] become columns: r[i] lane j = old r[j] lane i. */
static void transpose16(__m512 r[16]) {
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
        r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xEE);
        r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xDD);
        t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xDD);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xDD);
        r[i + 4] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0x88);
        r[i + 12] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0xDD);
    }
}

/* gradient[r][c * 9 + t] = sum over the slice's pixels p, in order, of
 * rows[r][p] x im2col(input)[c * 9 + t][p]. Per chunk of WG_CHUNK pixels: `dyt` holds the
 * chunk's `rows` transposed, per block of 32 rows a pixel's 32 values in a row; per block of
 * 32 channels, `panel` holds the chunk's columns (`pack`, 32 pixels at a time into rows
 * WG_CHUNK long); then each 8 columns x 32 rows of the gradient is one kernel call over the
 * chunk's pixels, broadcasting the columns' values and reading the transposed rows, its
 * sums carried from chunk to chunk in `acc` (`[channels * 9][rows]`). */
void dae_halving_conv_weight_gradient(const float *rows_in, long ld, const float *input, float *gradient, long rows,
                                      long channels, long first, long count, long batch, long height, long width,
                                      float *scratch) {
    long oh = height / 2, ow = width / 2, plane = oh * ow, pixels = count * plane, k = channels * 9;
    float *panel = scratch, *dyt = panel + WG_CHANNELS * 9 * WG_CHUNK, *acc = dyt + rows * WG_CHUNK;
    const float *a = rows_in + first * plane;
    __m512 v[16];
    for (long p0 = 0; p0 < pixels; p0 += WG_CHUNK) {
        long n = pixels - p0 < WG_CHUNK ? pixels - p0 : WG_CHUNK;
        for (long r0 = 0; r0 < rows; r0 += 16)
            for (long q = 0; q < n; q += 16) {
                __mmask16 valid = low_lanes((int)(n - q));
                for (int i = 0; i < 16; i++) v[i] = _mm512_maskz_loadu_ps(valid, a + (r0 + i) * ld + p0 + q);
                transpose16(v);
                for (int j = 0; j < 16; j++) /* rows r0 ..< r0 + 16 of pixel q + j */
                    _mm512_store_ps(dyt + ((r0 / WG_ROWS * WG_CHUNK) + q + j) * WG_ROWS + r0 % WG_ROWS, v[j]);
            }
        for (long c0 = 0; c0 < channels; c0 += WG_CHANNELS) {
            Runs runs, next = {0};
            find_runs(p0, block_width(n), ow, plane, first, &runs);
            for (long b = 0; b < n; b += NR, runs = next) {
                look_ahead(input + c0 * batch * height * width, p0 + b, p0 + n, ow, plane, first, WG_CHANNELS, batch, height,
                           width, &next);
                pack(input, &runs, c0, WG_CHANNELS, batch, height, width, panel + b, WG_CHUNK);
            }
            for (long c = 0; c < WG_CHANNELS * 9; c += MR)
                for (long r0 = 0; r0 < rows; r0 += WG_ROWS)
                    kernel(panel + c * WG_CHUNK, 1, WG_CHUNK, dyt + r0 / WG_ROWS * WG_CHUNK * WG_ROWS, n,
                           acc + (c0 * 9 + c) * rows + r0, rows, 0xFFFF, 0xFFFF, p0 == 0, 0);
        }
    }
    for (long r = 0; r < rows; r++)
        for (long c = 0; c < k; c++) gradient[r * k + c] = acc[c * rows + r];
}

#pragma clang attribute pop

#else

/* Never called: dae_halving_conv_applies is 0 off x86-64. */
void dae_halving_conv_forward(const float *input, const float *packed, const float *bias, float *output, long rows,
                              long channels, long first, long count, long batch, long height, long width, float *panel) {
    (void)input, (void)packed, (void)bias, (void)output, (void)rows, (void)channels, (void)first, (void)count;
    (void)batch, (void)height, (void)width, (void)panel;
    abort();
}

void dae_halving_conv_adjoint_columns(const float *packed, long m, long k, const float *source, long ld, long pixels,
                                      float *col, float *panel) {
    (void)packed, (void)m, (void)k, (void)source, (void)ld, (void)pixels, (void)col, (void)panel;
    abort();
}

void dae_halving_conv_weight_gradient(const float *rows_in, long ld, const float *input, float *gradient, long rows,
                                      long channels, long first, long count, long batch, long height, long width,
                                      float *scratch) {
    (void)rows_in, (void)ld, (void)input, (void)gradient, (void)rows, (void)channels, (void)first, (void)count;
    (void)batch, (void)height, (void)width, (void)scratch;
    abort();
}

#endif
