/* The bfloat16 GEMM of `--precision bf16` (include/bf16_gemm.h).
 *
 * Blocked as GotoBLAS/BLIS are: for each block of NC columns and KC values of k, op(B)'s
 * block is rounded to bf16 and packed in panels of NR columns; for each block of MC rows,
 * op(A)'s block in panels of MR rows; then an MR x NR micro-kernel multiplies one panel of
 * each in registers and adds the result into C. A packed value is a pair of bf16 in one
 * 32-bit word, k even in the low half and k + 1 in the high half (0 past k's end), which
 * is what VDPBF16PS multiplies: a broadcast pair of A times 16 pairs of B, each lane
 * adding both products to its float32 sum. */
#include "bf16_gemm.h"
#include "cpu.h"
#include "simd.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

float dae_bf16_round(float x) {
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    if ((bits & 0x7fffffffu) > 0x7f800000u) {
        bits |= 0x00400000u; /* a NaN stays a (quiet) NaN */
    } else {
        bits += 0x7fffu + ((bits >> 16) & 1u);
    }
    bits &= 0xffff0000u;
    memcpy(&x, &bits, sizeof x);
    return x;
}

#if HAS_X86_VARIANTS
#include <immintrin.h>
#include <pthread.h>

/* MR x NR is the register tile: 8 rows x 3 vectors of 16 = 24 accumulators, with 3 for B
 * and broadcasts of A from memory. KC values of k (KC / 2 pairs) keep one panel of B
 * (KC / 2 x NR words, 24 KB) in L1 and A's block (MC x KC / 2 words, 96 KB) in L2. */
enum { MR = 8, NV = 3, NR = 16 * NV, KC = 256, KP = KC / 2, MC = 192, NC = 960 };

#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,avx2,fma"))), \
                             apply_to = function)

/* Packs a panel of `width` lanes (of which the first `lanes` exist, the others 0) over `kc`
 * values of k into dst[kp * width + lane], where the value (k, lane) is at
 * src[k * sk + lane * sl]. Two layouts have a vector path: lanes adjacent (sl == 1: the
 * two rows of a pair are read 16 lanes at a time and interleaved) and k adjacent (sk == 1:
 * a lane's pairs are read 16 at a time, already interleaved). */
static void pack_panel(const float *src, long sk, long sl, int lanes, int width, long kc, uint32_t *dst) {
    long pairs = (kc + 1) / 2;
    if (sl == 1) {
        for (long kp = 0; kp < pairs; kp++) {
            const float *even = src + 2 * kp * sk;
            const float *odd = 2 * kp + 1 < kc ? even + sk : NULL;
            for (int g = 0; g < width; g += 16) {
                int left = lanes - g;
                __mmask16 valid = left >= 16 ? 0xffff : left <= 0 ? 0 : (__mmask16)((1u << left) - 1);
                __m512 low = _mm512_maskz_loadu_ps(valid, even + g);
                __m512 high = odd != NULL ? _mm512_maskz_loadu_ps(valid, odd + g) : _mm512_setzero_ps();
                __m512i words = _mm512_or_si512(
                    _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(low)),
                    _mm512_slli_epi32(_mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(high)), 16));
                __mmask16 store = width - g >= 16 ? 0xffff : (__mmask16)((1u << (width - g)) - 1);
                _mm512_mask_storeu_epi32(dst + kp * width + g, store, words);
            }
        }
        return;
    }
    if (sk == 1) {
        for (int lane = 0; lane < width; lane++) {
            if (lane >= lanes) {
                for (long kp = 0; kp < pairs; kp++) dst[kp * width + lane] = 0;
                continue;
            }
            const float *values = src + lane * sl;
            for (long kp = 0; kp < pairs; kp += 16) {
                long left = kc - 2 * kp; /* values of k from this group on */
                __mmask16 first = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1);
                __mmask16 second = left >= 32 ? 0xffff : left <= 16 ? 0 : (__mmask16)((1u << (left - 16)) - 1);
                __m512 v0 = _mm512_maskz_loadu_ps(first, values + 2 * kp);
                __m512 v1 = _mm512_maskz_loadu_ps(second, values + 2 * kp + 16);
                uint32_t words[16] __attribute__((aligned(64)));
                _mm512_store_si512(words, (__m512i)_mm512_cvtne2ps_pbh(v1, v0));
                long count = pairs - kp < 16 ? pairs - kp : 16;
                for (long t = 0; t < count; t++) dst[(kp + t) * width + lane] = words[t];
            }
        }
        return;
    }
    for (long kp = 0; kp < pairs; kp++) {
        for (int lane = 0; lane < width; lane++) {
            float even = 0, odd = 0;
            if (lane < lanes) {
                even = src[2 * kp * sk + lane * sl];
                if (2 * kp + 1 < kc) odd = src[(2 * kp + 1) * sk + lane * sl];
            }
            float rounded[2] = {dae_bf16_round(even), dae_bf16_round(odd)};
            uint32_t bits[2];
            memcpy(bits, rounded, sizeof bits);
            dst[kp * width + lane] = (bits[0] >> 16) | (bits[1] & 0xffff0000u);
        }
    }
}

/* C[rows x cols] += alpha * (A panel x B panel) over `pairs` pairs of k. */
static inline __attribute__((always_inline)) void micro_kernel(long pairs, const uint32_t *a, const uint32_t *b, float *c,
                                                               long ldc, int rows, int cols, float alpha) {
    __m512 sum[MR][NV];
    for (int r = 0; r < MR; r++)
        for (int v = 0; v < NV; v++) sum[r][v] = _mm512_setzero_ps();
    for (long p = 0; p < pairs; p++) {
        __m512bh bv[NV];
        for (int v = 0; v < NV; v++) bv[v] = (__m512bh)_mm512_load_si512(b + p * NR + 16 * v);
        for (int r = 0; r < MR; r++) {
            __m512bh ar = (__m512bh)_mm512_set1_epi32((int)a[p * MR + r]);
            for (int v = 0; v < NV; v++) sum[r][v] = _mm512_dpbf16_ps(sum[r][v], ar, bv[v]);
        }
    }
    __m512 scale = _mm512_set1_ps(alpha);
    for (int r = 0; r < MR; r++) {
        if (r >= rows) break;
        for (int v = 0; v < NV; v++) {
            int left = cols - 16 * v;
            if (left <= 0) break;
            __mmask16 valid = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1);
            float *target = c + r * ldc + 16 * v;
            /* alpha * sum + C, one rounding: for alpha 1, C + sum exactly as an addition. */
            _mm512_mask_storeu_ps(target, valid, _mm512_fmadd_ps(scale, sum[r][v], _mm512_maskz_loadu_ps(valid, target)));
        }
    }
}

/* Each thread's packing buffers, made at its first call and freed when it ends. */
typedef struct {
    uint32_t *a, *b;
} Buffers;
static __thread Buffers buffers;
static pthread_key_t buffers_key;
static pthread_once_t buffers_once = PTHREAD_ONCE_INIT;

static void free_buffers(void *value) {
    Buffers *owned = value;
    free(owned->a);
    free(owned->b);
    owned->a = owned->b = NULL;
}

static void make_key(void) { pthread_key_create(&buffers_key, free_buffers); }

static Buffers *thread_buffers(void) {
    if (buffers.a == NULL) {
        pthread_once(&buffers_once, make_key);
        buffers.a = aligned_alloc(64, sizeof(uint32_t) * MC * KP);
        buffers.b = aligned_alloc(64, sizeof(uint32_t) * NC * KP);
        if (buffers.a == NULL || buffers.b == NULL) abort(); /* 600 KB once per thread */
        pthread_setspecific(buffers_key, &buffers);
    }
    return &buffers;
}

static void gemm(int ta, int tb, long m, long n, long k, float alpha, const float *a, long lda, const float *b, long ldb,
                 float *c, long ldc) {
    Buffers *buffer = thread_buffers();
    /* Where op(A)(i, p) and op(B)(p, j) are: a[i * a_lane + p * a_k], b[p * b_k + j * b_lane]. */
    long a_k = ta ? lda : 1, a_lane = ta ? 1 : lda;
    long b_k = tb ? 1 : ldb, b_lane = tb ? ldb : 1;
    for (long j0 = 0; j0 < n; j0 += NC) {
        long nc = n - j0 < NC ? n - j0 : NC;
        for (long p0 = 0; p0 < k; p0 += KC) {
            long kc = k - p0 < KC ? k - p0 : KC;
            long pairs = (kc + 1) / 2;
            for (long jr = 0; jr < nc; jr += NR) {
                int lanes = nc - jr < NR ? (int)(nc - jr) : NR;
                pack_panel(b + p0 * b_k + (j0 + jr) * b_lane, b_k, b_lane, lanes, NR, kc, buffer->b + (jr / NR) * pairs * NR);
            }
            for (long i0 = 0; i0 < m; i0 += MC) {
                long mc = m - i0 < MC ? m - i0 : MC;
                for (long ir = 0; ir < mc; ir += MR) {
                    int lanes = mc - ir < MR ? (int)(mc - ir) : MR;
                    pack_panel(a + (i0 + ir) * a_lane + p0 * a_k, a_k, a_lane, lanes, MR, kc,
                               buffer->a + (ir / MR) * pairs * MR);
                }
                for (long jr = 0; jr < nc; jr += NR) {
                    int cols = nc - jr < NR ? (int)(nc - jr) : NR;
                    for (long ir = 0; ir < mc; ir += MR) {
                        int rows = mc - ir < MR ? (int)(mc - ir) : MR;
                        micro_kernel(pairs, buffer->a + (ir / MR) * pairs * MR, buffer->b + (jr / NR) * pairs * NR,
                                     c + (i0 + ir) * ldc + j0 + jr, ldc, rows, cols, alpha);
                    }
                }
            }
        }
    }
}

#pragma clang attribute pop

/* CPUID once (every call of it leaves a VM for the hypervisor): dae_bf16_gemm checks on
 * every product. -1 until first asked; threads that ask at once compute the same answer. */
static int cpu_has_bf16 = -1;

int dae_bf16_gemm_available(void) {
    int has = __atomic_load_n(&cpu_has_bf16, __ATOMIC_RELAXED);
    if (has < 0) {
        has = dae_cpu_has_avx512_bf16();
        __atomic_store_n(&cpu_has_bf16, has, __ATOMIC_RELAXED);
    }
    return has && dae_kernels_build() >= DAE_ISA_AVX512;
}

const char *dae_bf16_gemm_kernel(void) { return "AVX512-BF16 8x48"; }

void dae_bf16_gemm(int transpose_a, int transpose_b, long m, long n, long k, float alpha, const float *a, long lda,
                   const float *b, long ldb, float beta, float *c, long ldc) {
    if (m <= 0 || n <= 0) return;
    if (beta != 1) {
        for (long i = 0; i < m; i++) {
            if (beta == 0) {
                memset(c + i * ldc, 0, sizeof(float) * (size_t)n);
            } else {
                for (long j = 0; j < n; j++) c[i * ldc + j] *= beta;
            }
        }
    }
    if (k <= 0 || alpha == 0) return;
    if (!dae_bf16_gemm_available()) abort(); /* callers check first (header) */
    gemm(transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, c, ldc);
}

#else

int dae_bf16_gemm_available(void) { return 0; }

const char *dae_bf16_gemm_kernel(void) { return "none"; }

void dae_bf16_gemm(int transpose_a, int transpose_b, long m, long n, long k, float alpha, const float *a, long lda,
                   const float *b, long ldb, float beta, float *c, long ldc) {
    (void)transpose_a, (void)transpose_b, (void)m, (void)n, (void)k, (void)alpha, (void)a, (void)lda, (void)b;
    (void)ldb, (void)beta, (void)c, (void)ldc;
    abort(); /* callers check dae_bf16_gemm_available() first */
}

#endif
