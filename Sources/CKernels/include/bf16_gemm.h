#ifndef DAE_BF16_GEMM_H
#define DAE_BF16_GEMM_H

/* A GEMM that reads its operands as bfloat16 and accumulates in float32: the products of
 * `--precision bf16`. Same arguments as cblas_sgemm, row-major:
 * C[m x n] = alpha * op(A) * op(B) + beta * C, op(A) m x k, op(B) k x n.
 *
 * A and B are float32 in memory and rounded to bfloat16 (to nearest, ties to even) as they
 * are packed; every pair of products is summed into float32 by AVX-512 BF16's VDPBF16PS.
 * The order of every sum depends on m, n and k alone (blocks of 256 along k, added to C in
 * turn), never on the thread or the machine's cache: the same call gives the same bits on
 * every thread. One call runs on the calling thread, in buffers of that thread made at its
 * first call (about 600 KB), so a training step allocates nothing.
 *
 * Only for CPUs with AVX-512 BF16 (dae_bf16_gemm_available()); elsewhere it must not be
 * called. */
void dae_bf16_gemm(int transpose_a, int transpose_b, long m, long n, long k, float alpha, const float *a, long lda,
                   const float *b, long ldb, float beta, float *c, long ldc);

/* 1 when this CPU has AVX-512 BF16 and the AVX-512 build of the kernels runs (DAE_KERNELS,
 * include/kernels.h, can hold them to a narrower one): then dae_bf16_gemm may be called. */
int dae_bf16_gemm_available(void);

/* The kernel's name, for the outputs that say what ran: "AVX512-BF16 8x48". */
const char *dae_bf16_gemm_kernel(void);

/* Rounds x to bfloat16 as dae_bf16_gemm does (to nearest, ties to even), back as float32:
 * what tests compare against. */
float dae_bf16_round(float x);

#endif
