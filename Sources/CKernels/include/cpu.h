#ifndef DAE_CPU_H
#define DAE_CPU_H

/* What this CPU can run, from CPUID (as the compiler's runtime reads it, which also checks
 * that the operating system saves the wider registers). The GEMM library's kernel and the
 * builds of this target's kernels are both chosen from it. */

/* Vector instruction sets, narrowest first; each level includes the ones before. */
enum {
    DAE_ISA_BASELINE = 0, /* x86-64's SSE2, or any other architecture */
    DAE_ISA_SSE4_2 = 1,
    DAE_ISA_AVX = 2,
    DAE_ISA_AVX2_FMA = 3,
    DAE_ISA_AVX512 = 4 /* F, CD, BW, DQ and VL: what Skylake-X and every later AVX-512 CPU has */
};

/* The widest level this CPU supports. */
int dae_cpu_isa(void);

/* A level's name: "baseline", "SSE4.2", "AVX", "AVX2+FMA", "AVX-512". */
const char *dae_isa_name(int isa);

/* 1 on AMD, 0 elsewhere. */
int dae_cpu_is_amd(void);

/* 1 when the CPU has AVX-512 BF16 (Cooper Lake, Sapphire Rapids, Zen 4 and later). */
int dae_cpu_has_avx512_bf16(void);

/* CPUID's family and model numbers (extended ones included): what libraries that choose by
 * model look at. 0 where CPUID has none. */
int dae_cpu_family(void);
int dae_cpu_model_number(void);

/* The CPU's brand string ("AMD EPYC 9B14", "Intel(R) Xeon(R) Platinum 8581C CPU @ 2.10GHz"),
 * its leading and trailing spaces removed; "unknown" where CPUID has none. */
const char *dae_cpu_model(void);

#endif
