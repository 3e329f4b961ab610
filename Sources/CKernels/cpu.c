/* CPU features (include/cpu.h). */
#include "cpu.h"
#include <pthread.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define DAE_X86 1
#else
#define DAE_X86 0
#endif

int dae_cpu_isa(void) {
#if DAE_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return DAE_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return DAE_ISA_AVX2_FMA;
    if (__builtin_cpu_supports("avx")) return DAE_ISA_AVX;
    if (__builtin_cpu_supports("sse4.2")) return DAE_ISA_SSE4_2;
#endif
    return DAE_ISA_BASELINE;
}

const char *dae_isa_name(int isa) {
    switch (isa) {
    case DAE_ISA_SSE4_2: return "SSE4.2";
    case DAE_ISA_AVX: return "AVX";
    case DAE_ISA_AVX2_FMA: return "AVX2+FMA";
    case DAE_ISA_AVX512: return "AVX-512";
    default: return "baseline";
    }
}

int dae_cpu_is_amd(void) {
#if DAE_X86
    __builtin_cpu_init();
    return __builtin_cpu_is("amd");
#else
    return 0;
#endif
}

int dae_cpu_has_avx512_bf16(void) {
#if DAE_X86
    unsigned a, b, c, d;
    /* leaf 7 sub-leaf 1, EAX bit 5 */
    if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return 0;
    return dae_cpu_isa() == DAE_ISA_AVX512 && (a >> 5 & 1);
#else
    return 0;
#endif
}

/* Leaf 1's EAX: family in bits 8-11 (plus 20-27 when it is 15), model in bits 4-7 (plus
 * 16-19 as the high nibble when the family is 6 or 15). */
static unsigned signature(void) {
#if DAE_X86
    unsigned a, b, c, d;
    if (__get_cpuid(1, &a, &b, &c, &d)) return a;
#endif
    return 0;
}

int dae_cpu_family(void) {
    unsigned eax = signature(), family = eax >> 8 & 0xf;
    return (int)(family == 15 ? family + (eax >> 20 & 0xff) : family);
}

int dae_cpu_model_number(void) {
    unsigned eax = signature(), family = eax >> 8 & 0xf, model = eax >> 4 & 0xf;
    return (int)(family == 6 || family == 15 ? model | (eax >> 16 & 0xf) << 4 : model);
}

static char model[49] = "unknown";

/* Once (pthread_once): threads that ask at once must not write the buffer together. */
static void read_model(void) {
#if DAE_X86
    unsigned words[12], a, b, c, d;
    if (__get_cpuid_max(0x80000000, 0) < 0x80000004) return;
    for (unsigned leaf = 0; leaf < 3; leaf++) {
        __get_cpuid(0x80000002 + leaf, &a, &b, &c, &d);
        words[4 * leaf] = a, words[4 * leaf + 1] = b, words[4 * leaf + 2] = c, words[4 * leaf + 3] = d;
    }
    char raw[49];
    memcpy(raw, words, 48);
    raw[48] = 0;
    const char *start = raw;
    while (*start == ' ') start++;
    size_t length = strlen(start);
    while (length > 0 && start[length - 1] == ' ') length--;
    if (length == 0) return;
    memcpy(model, start, length);
    model[length] = 0;
#endif
}

const char *dae_cpu_model(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, read_model);
    return model;
}
