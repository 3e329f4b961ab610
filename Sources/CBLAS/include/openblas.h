#ifndef DAE_OPENBLAS_H
#define DAE_OPENBLAS_H

/* OpenBLAS on Linux, loaded at its first use with the kernel this CPU's features call for
 * (see openblas.c for why it is not linked the usual way). Every function loads it first;
 * when it cannot be loaded, the process says so on stderr and exits with status 1. */

/* cblas_sgemm, row-major: C = alpha * op(A) * op(B) + beta * C. */
void dae_sgemm(int transpose_a, int transpose_b, long m, long n, long k, float alpha, const float *a, long lda,
               const float *b, long ldb, float beta, float *c, long ldc);

/* openblas_set_num_threads / openblas_get_num_threads. */
void dae_blas_set_threads(int count);
int dae_blas_threads(void);

/* The kernel OpenBLAS runs, as it names it ("Cooperlake", "Haswell", "Prescott"). */
const char *dae_blas_kernel(void);

/* OpenBLAS's version ("0.3.21"), read from its build description; "unknown" if absent. */
const char *dae_blas_version(void);

/* The OPENBLAS_CORETYPE this process set from the CPU's features before loading OpenBLAS,
 * or NULL when it set none: the user's own OPENBLAS_CORETYPE was there (and is what
 * OpenBLAS read), or no kernel fits better than OpenBLAS's own pick. */
const char *dae_blas_chosen_coretype(void);

/* The vector instruction set (a DAE_ISA_ level of CKernels' cpu.h) an OpenBLAS kernel name
 * stands for; DAE_ISA_BASELINE for names it does not know. */
int dae_blas_kernel_isa(const char *kernel);

#endif
