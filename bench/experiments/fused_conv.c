/* Whether a convolution that packs its im2col panels straight from the input, with its own
 * AVX-512 micro-kernel, beats dae-dist's im2col + OpenBLAS sgemm on this CPU: the forward
 * of the step's largest convolution (encoder.encoder.3: 32 -> 64 channels, 3x3, stride 2,
 * 28 x 28 -> 14 x 14), one shard slice of 11 images at a time, 24 slices (a batch of 264),
 * one thread. The experiment behind the "fused im2col-into-packing" row of PERFORMANCE.md.
 *
 *   cc -O3 -march=native bench/experiments/fused_conv.c -o /tmp/fused_conv -lopenblas -lm
 *   OPENBLAS_NUM_THREADS=1 /tmp/fused_conv [--no-prefetch]
 *
 * Needs AVX-512 (F). Layouts as in dae-dist: activations [channel][image][row][column]
 * (here over the slice; in dae-dist a channel spans the whole batch), weights
 * [out][in][3][3], output [out][image * 196]. The fused path: for each block of 32 output
 * pixels it packs the block's 288 x 32 panel of the column matrix straight from the input
 * into an L1-resident buffer (`pack`), then multiplies every 8 output channels (weights
 * packed 8 wide) by it with 16 accumulators. Prints the median of 15 alternating runs of
 * each, the two parts alone, and the largest difference between the two outputs. */
#include <cblas.h>
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { CIN = 32, COUT = 64, SIDE = 28, OUT = 14, K = CIN * 9, IMAGES = 11, SLICES = 24, N = IMAGES * OUT * OUT, NR = 32, MR = 8 };

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* dae-dist's column matrix: row c*9 + ky*3 + kx, column image*196 + oy*14 + ox. */
static void im2col(const float *x, float *columns) {
    for (int c = 0; c < CIN; c++)
        for (int t = 0; t < 9; t++) {
            int ky = t / 3, kx = t % 3;
            float *row = columns + (long)(c * 9 + t) * N;
            for (int img = 0; img < IMAGES; img++)
                for (int oy = 0; oy < OUT; oy++) {
                    int iy = 2 * oy + ky - 1;
                    for (int ox = 0; ox < OUT; ox++) {
                        int ix = 2 * ox + kx - 1;
                        int inside = iy >= 0 && iy < SIDE && ix >= 0 && ix < SIDE;
                        *row++ = inside ? x[((long)c * IMAGES + img) * SIDE * SIDE + iy * SIDE + ix] : 0;
                    }
                }
        }
}

static void baseline(const float *x, const float *w, float *y, float *columns) {
    im2col(x, columns);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, COUT, N, K, 1, w, K, columns, N, 1, y, N);
}

/* 8 output channels x 32 pixels += packed weights (K x 8) x panel (K x 32). */
static void kernel8x32(const float *wp, const float *panel, float *y, __mmask16 m0, __mmask16 m1) {
    __m512 c[MR][2];
    for (int i = 0; i < MR; i++) {
        c[i][0] = _mm512_maskz_loadu_ps(m0, y + (long)i * N);
        c[i][1] = _mm512_maskz_loadu_ps(m1, y + (long)i * N + 16);
    }
    for (int k = 0; k < K; k++) {
        __m512 b0 = _mm512_load_ps(panel + k * NR), b1 = _mm512_load_ps(panel + k * NR + 16);
        for (int i = 0; i < MR; i++) {
            __m512 a = _mm512_set1_ps(wp[k * MR + i]);
            c[i][0] = _mm512_fmadd_ps(a, b0, c[i][0]);
            c[i][1] = _mm512_fmadd_ps(a, b1, c[i][1]);
        }
    }
    for (int i = 0; i < MR; i++) {
        _mm512_mask_storeu_ps(y + (long)i * N, m0, c[i][0]);
        _mm512_mask_storeu_ps(y + (long)i * N + 16, m1, c[i][1]);
    }
}

static int skip_packing;  /* for timing the micro-kernel alone */

/* The panel's rows c*9 + ky*3 + kx for pixels n0 .. n0 + width - 1, run by run of pixels in
 * one output row: the run's stride-2 input values are picked out of the input row (two
 * masked loads, the padding column and those past the edge masked to 0) by one permute and
 * stored 16 wide, unmasked. Rows are written in order and runs left to right, so what a
 * store writes past its run is overwritten by the next run or the next row (the panel has 16
 * floats of slack at its end). */
static void pack(const float *x, int n0, int width, float *panel) {
    const __m512i twice = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __mmask16 low = 0xFFFE, high = 0x1FFF;  /* lanes of columns 0..27, from column -1 */
    int start[4], image[4], row[4], column[4], runs = 0;
    for (int j = 0; j < width; runs++) {
        int n = n0 + j;
        start[runs] = j, image[runs] = n / (OUT * OUT), row[runs] = n / OUT % OUT, column[runs] = n % OUT;
        j += OUT - column[runs] < width - j ? OUT - column[runs] : width - j;
    }
    float *out = panel;
    for (int c = 0; c < CIN; c++)
        for (int ky = 0; ky < 3; ky++) {
            __m512 a[4], b[4];
            for (int q = 0; q < runs; q++) {
                int iy = 2 * row[q] + ky - 1;
                if (iy < 0 || iy >= SIDE) { a[q] = b[q] = _mm512_setzero_ps(); continue; }
                const float *r = x + ((long)c * IMAGES + image[q]) * SIDE * SIDE + iy * SIDE - 1;
                a[q] = _mm512_maskz_loadu_ps(low, r), b[q] = _mm512_maskz_loadu_ps(high, r + 16);
            }
            for (int kx = 0; kx < 3; kx++, out += NR)
                for (int q = 0; q < runs; q++) {
                    __m512i index = _mm512_add_epi32(twice, _mm512_set1_epi32(2 * column[q] + kx));
                    _mm512_storeu_ps(out + start[q], _mm512_permutex2var_ps(a[q], index, b[q]));
                }
        }
}

/* Asks for the input rows of the panel at n0 ahead of time: a slice's input (1.1 MB) is
 * larger than L2, and a panel reads 32 channels' rows 34 KB apart, which no hardware
 * prefetcher follows. */
static void prefetch(const float *x, int n0) {
    if (n0 >= N) return;
    int last = (n0 + NR < N ? n0 + NR : N) - 1;
    for (int n = n0; n <= last; n += OUT - n % OUT) {
        int img = n / (OUT * OUT), oy = n / OUT % OUT;
        for (int c = 0; c < CIN; c++)
            for (int ky = 0; ky < 3; ky++) {
                int iy = 2 * oy + ky - 1;
                if (iy < 0 || iy >= SIDE) continue;
                const char *r = (const char *)(x + ((long)c * IMAGES + img) * SIDE * SIDE + iy * SIDE);
                _mm_prefetch(r, _MM_HINT_T0);
                _mm_prefetch(r + 64, _MM_HINT_T0);
            }
    }
}

static int use_prefetch = 1;

static void fused(const float *x, const float *wp, float *y, float *panel) {
    for (int n0 = 0; n0 < N; n0 += NR) {
        int width = N - n0 < NR ? N - n0 : NR;
        if (use_prefetch) prefetch(x, n0 + NR);
        if (!skip_packing) pack(x, n0, width, panel);
        __mmask16 m0 = width >= 16 ? 0xFFFF : (__mmask16)((1u << width) - 1);
        __mmask16 m1 = width >= 32 ? 0xFFFF : width <= 16 ? 0 : (__mmask16)((1u << (width - 16)) - 1);
        for (int m = 0; m < COUT; m += MR) kernel8x32(wp + (long)m * K, panel, y + (long)m * N + n0, m0, m1);
    }
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    use_prefetch = argc < 2 || strcmp(argv[1], "--no-prefetch") != 0;
    float *x = aligned_alloc(64, sizeof(float) * SLICES * CIN * IMAGES * SIDE * SIDE);
    float *w = aligned_alloc(64, sizeof(float) * COUT * K), *wp = aligned_alloc(64, sizeof(float) * COUT * K);
    float *y0 = aligned_alloc(64, sizeof(float) * SLICES * COUT * N), *y1 = aligned_alloc(64, sizeof(float) * SLICES * COUT * N);
    float *columns = aligned_alloc(64, sizeof(float) * K * N), *panel = aligned_alloc(64, sizeof(float) * (K * NR + 16));
    srand(1);
    for (long i = 0; i < (long)SLICES * CIN * IMAGES * SIDE * SIDE; i++) x[i] = (float)rand() / RAND_MAX;
    for (long i = 0; i < COUT * K; i++) w[i] = (float)rand() / RAND_MAX - 0.5f;
    for (int m = 0; m < COUT; m += MR)  /* each block of 8 rows as K x 8 */
        for (int k = 0; k < K; k++)
            for (int i = 0; i < MR; i++) wp[(long)m * K + k * MR + i] = w[(long)(m + i) * K + k];
    memset(y0, 0, sizeof(float) * SLICES * COUT * N);
    memset(y1, 0, sizeof(float) * SLICES * COUT * N);
    for (int s = 0; s < SLICES; s++) {
        const float *xs = x + (long)s * CIN * IMAGES * SIDE * SIDE;
        baseline(xs, w, y0 + (long)s * COUT * N, columns);
        fused(xs, wp, y1 + (long)s * COUT * N, panel);
    }
    double worst = 0;
    for (long i = 0; i < (long)SLICES * COUT * N; i++) worst = fmax(worst, fabs(y0[i] - y1[i]));
    double times[4][15];
    for (int run = 0; run < 15; run++)
        for (int which = 0; which < 4; which++) {
            float *y = which == 1 ? y1 : y0;
            if (which < 2) memset(y, 0, sizeof(float) * SLICES * COUT * N);
            skip_packing = which == 3;
            double start = now();
            for (int s = 0; s < SLICES; s++) {
                const float *xs = x + (long)s * CIN * IMAGES * SIDE * SIDE;
                if (which == 1 || which == 3) fused(xs, wp, y + (long)s * COUT * N, panel);
                else if (which == 0) baseline(xs, w, y + (long)s * COUT * N, columns);
                else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, COUT, N, K, 1, w, K, columns, N, 1, y + (long)s * COUT * N, N);
            }
            times[which][run] = now() - start;
        }
    for (int which = 0; which < 4; which++) qsort(times[which], 15, sizeof(double), compare);
    double flops = 2.0 * COUT * K * N * SLICES;
    printf("conv 32->64 stride 2, %d slices of %d images, 1 thread (%s)\n", SLICES, IMAGES, openblas_get_corename());
    printf("im2col + OpenBLAS sgemm: %.2f ms (%.1f GFLOP/s)\n", 1e3 * times[0][7], flops / times[0][7] / 1e9);
    printf("fused pack + AVX-512 kernel: %.2f ms (%.1f GFLOP/s)\n", 1e3 * times[1][7], flops / times[1][7] / 1e9);
    printf("  of which sgemm alone (columns made): %.2f ms (%.1f GFLOP/s)\n", 1e3 * times[2][7], flops / times[2][7] / 1e9);
    printf("  of which the micro-kernel alone (panel made): %.2f ms (%.1f GFLOP/s)\n", 1e3 * times[3][7], flops / times[3][7] / 1e9);
    printf("largest difference: %.3g\n", worst);
    return 0;
}
