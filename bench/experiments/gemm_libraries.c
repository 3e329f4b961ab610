/* The products one training step makes, replayed through each GEMM library packaged here,
 * on one thread: which library is fastest on dae-dist's own shapes on this CPU.
 *
 *   cc -O2 bench/experiments/gemm_libraries.c -o /tmp/gemm_libraries -ldl
 *   .build/release/dae-dist bench --batch-sizes 256 --threads 1 --gemm-shapes --json \
 *     | grep sgemm-shape | /tmp/gemm_libraries libopenblas.so.0 libmkl_rt.so.2 libdnnl.so.2 libblis.so.4
 *
 * Reads the `sgemm-shape` JSON lines of `dae-dist bench --gemm-shapes --json` (each a shape
 * with its leading dimensions, beta, and how many calls a step makes of it) and, for each
 * library named, prints its rate on a 1024^3 product, the whole step's products in ms and
 * GFLOP/s (median of 7 replays) and each shape's rate. A library is loaded with dlopen: `cblas_sgemm` where it has one,
 * else oneDNN's `dnnl_sgemm` (row-major too). Keep the thread count at one with
 * OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 OMP_NUM_THREADS=1 BLIS_NUM_THREADS=1. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct { int ta, tb; long m, n, k, lda, ldb, ldc, calls; float beta; } Shape;
typedef void (*cblas_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int);
typedef int (*dnnl_fn)(char, char, long, long, long, float, const float *, long, const float *, long, float, float *, long);

static cblas_fn cblas;
static dnnl_fn dnnl;

static void gemm(const Shape *s, const float *a, const float *b, float *c) {
    if (cblas) cblas(101, s->ta ? 112 : 111, s->tb ? 112 : 111, (int)s->m, (int)s->n, (int)s->k, 1, a, (int)s->lda, b,
                     (int)s->ldb, s->beta, c, (int)s->ldc);
    else dnnl(s->ta ? 'T' : 'N', s->tb ? 'T' : 'N', s->m, s->n, s->k, 1, a, s->lda, b, s->ldb, s->beta, c, s->ldc);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static long field(const char *line, const char *key) {
    const char *at = strstr(line, key);
    return at ? atol(at + strlen(key)) : -1;
}

static int compare(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* Seconds for `calls` calls of each of `count` shapes: the median of 7 replays after one. */
static double replay(const Shape *shapes, int count, const float *a, const float *b, float *c) {
    double times[7];
    for (int r = 0; r < 8; r++) {
        double start = now();
        for (int i = 0; i < count; i++)
            for (long j = 0; j < shapes[i].calls; j++) gemm(&shapes[i], a, b, c);
        if (r > 0) times[r - 1] = now() - start;
    }
    qsort(times, 7, sizeof times[0], compare);
    return times[3];
}

int main(int argc, char **argv) {
    Shape shapes[256];
    int count = 0;
    char line[1024];
    long span = 0;
    while (count < 256 && fgets(line, sizeof line, stdin)) {
        if (!strstr(line, "sgemm-shape")) continue;
        Shape s = {(int)field(line, "\"transpose_a\": "), (int)field(line, "\"transpose_b\": "), field(line, "\"m\": "),
                   field(line, "\"n\": "), field(line, "\"k\": "), field(line, "\"lda\": "), field(line, "\"ldb\": "),
                   field(line, "\"ldc\": "), field(line, "\"calls\": "), (float)field(line, "\"beta\": ")};
        if (s.m <= 0 || s.n <= 0 || s.k <= 0 || s.calls <= 0) continue;
        long spans[3] = {(s.ta ? s.k : s.m) * s.lda, (s.tb ? s.n : s.k) * s.ldb, s.m * s.ldc};
        for (int i = 0; i < 3; i++) if (spans[i] > span) span = spans[i];
        shapes[count++] = s;
    }
    if (count == 0) {
        fprintf(stderr, "no sgemm-shape lines on stdin (see the comment at the top)\n");
        return 1;
    }
    float *a = malloc(span * sizeof(float)), *b = malloc(span * sizeof(float)), *c = malloc(span * sizeof(float));
    if (!a || !b || !c) return 1;
    for (long i = 0; i < span; i++) a[i] = (float)(i % 17) / 17 - 0.5f, b[i] = (float)(i % 13) / 13 - 0.5f, c[i] = 0;
    double flops = 0;
    for (int i = 0; i < count; i++) flops += 2.0 * shapes[i].m * shapes[i].n * shapes[i].k * shapes[i].calls;
    for (int l = 1; l < argc; l++) {
        void *library = dlopen(argv[l], RTLD_NOW | RTLD_LOCAL);
        if (!library) {
            printf("%-20s not loaded: %s\n", argv[l], dlerror());
            continue;
        }
        cblas = (cblas_fn)dlsym(library, "cblas_sgemm");
        dnnl = cblas ? NULL : (dnnl_fn)dlsym(library, "dnnl_sgemm");
        if (!cblas && !dnnl) {
            printf("%-20s has neither cblas_sgemm nor dnnl_sgemm\n", argv[l]);
            continue;
        }
        Shape square = {0, 0, 1024, 1024, 1024, 1024, 1024, 1024, 1, 1};
        float *big = malloc(3 * 1024 * 1024 * sizeof(float));
        if (!big) return 1;
        for (long i = 0; i < 3 * 1024 * 1024; i++) big[i] = (float)(i % 7) / 7;
        double squareSeconds = replay(&square, 1, big, big + 1024 * 1024, big + 2 * 1024 * 1024);
        free(big);
        printf("%-20s 1024^3 product (+C): %6.1f GFLOP/s\n", argv[l], 2.0 * 1024 * 1024 * 1024 / squareSeconds / 1e9);
        double seconds = replay(shapes, count, a, b, c);
        printf("%-20s one step's products: %8.2f ms, %6.1f GFLOP/s\n", argv[l], 1e3 * seconds, flops / seconds / 1e9);
        for (int i = 0; i < count; i++) {
            double t = replay(&shapes[i], 1, a, b, c);
            printf("    %c%c m %4ld n %5ld k %5ld%s x%-3ld %7.2f ms %6.1f GFLOP/s\n", shapes[i].ta ? 'T' : 'N',
                   shapes[i].tb ? 'T' : 'N', shapes[i].m, shapes[i].n, shapes[i].k, shapes[i].beta != 0 ? " +C" : "   ",
                   shapes[i].calls, 1e3 * t, 2.0 * shapes[i].m * shapes[i].n * shapes[i].k * shapes[i].calls / t / 1e9);
        }
    }
    return 0;
}
