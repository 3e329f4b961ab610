/* im2col and col2im of the halving convolutions (include/halving.h; the kernels are in
 * halving_kernels.inc, built twice, see simd.h).
 *
 * An input row's even values are kernel column 1's, its odd values column 2's and, one
 * place on, column 0's. So im2col splits each input row once into the three taps of its
 * kernel row, 4 pairs at a time (the last group of 4 overlapping the one before rather than
 * a scalar tail: rewriting a value is harmless). col2im is written the other way round:
 * each output row is computed once, from the one or two kernel rows that reach it, and
 * stored, instead of a zeroing pass and read-modify-write passes over the image; that also
 * lets its last group overlap. Each value gets exactly the additions of the loop "for each
 * kernel row ki, for each column tap" in that order. */
#include "halving.h"
#include "simd.h"
#include <string.h>
#if HAS_X86_VARIANTS
#include <immintrin.h>
#endif

/* even[x] = row[2x], odd[x] = row[2x + 1], odd_shifted[x] = row[2x - 1] (0 for x = 0). */
HELPER void split_row(const float *row, long pairs, float *even, float *odd, float *odd_shifted) {
    if (pairs < 4) {
        for (long x = 0; x < pairs; x++) {
            even[x] = row[2 * x];
            odd[x] = row[2 * x + 1];
            odd_shifted[x] = x == 0 ? 0 : row[2 * x - 1];
        }
        return;
    }
    for (long x = 0;; x += 4) {
        if (x > pairs - 4) x = pairs - 4; /* the last group overlaps the one before */
        v8 values = load(row + 2 * x);
        v4 evens = __builtin_shufflevector(values, values, 0, 2, 4, 6);
        v4 odds = __builtin_shufflevector(values, values, 1, 3, 5, 7);
        *(v4 *)(even + x) = evens;
        *(v4 *)(odd + x) = odds;
        if (x == 0) {
            *(v4 *)odd_shifted = __builtin_shufflevector(odds, SPLAT4(0.0f), 4, 0, 1, 2);
        } else {
            v8 before = load(row + 2 * x - 1);
            *(v4 *)(odd_shifted + x) = __builtin_shufflevector(before, before, 0, 2, 4, 6);
        }
        if (x == pairs - 4) break;
    }
}

/* The taps of kernel row ki at output row y, for an output row's col2im. */
typedef struct { const float *left, *middle, *right; } KernelRow;

/* out[2x] = ((start + middle_a[x]) + middle_b[x]), out[2x + 1] = (((start + right_a[x]) +
 * left_a[x + 1]) + right_b[x]) + left_b[x + 1], with b absent when `two` is 0 and left[pairs]
 * counted as nothing. */
HELPER void gather_row(float start, const KernelRow *a, const KernelRow *b, int two, long pairs, float *out) {
    if (pairs < 4) {
        for (long x = 0; x < pairs; x++) {
            float even = start + a->middle[x], odd = start + a->right[x];
            if (x + 1 < pairs) odd += a->left[x + 1];
            if (two) {
                even += b->middle[x];
                odd += b->right[x];
                if (x + 1 < pairs) odd += b->left[x + 1];
            }
            out[2 * x] = even;
            out[2 * x + 1] = odd;
        }
        return;
    }
    const v4 none = SPLAT4(-0.0f); /* x + -0 = x for every x, +0 included */
    for (long x = 0;; x += 4) {
        if (x > pairs - 4) x = pairs - 4;
        int last = x == pairs - 4;
        v4 even = SPLAT4(start), odd = SPLAT4(start);
        v4 shifted = load4(a->left + x + 1); /* left[pairs] is the next row's: masked below */
        if (last) shifted = __builtin_shufflevector(shifted, none, 0, 1, 2, 7);
        even += load4(a->middle + x);
        odd += load4(a->right + x);
        odd += shifted;
        if (two) {
            shifted = load4(b->left + x + 1);
            if (last) shifted = __builtin_shufflevector(shifted, none, 0, 1, 2, 7);
            even += load4(b->middle + x);
            odd += load4(b->right + x);
            odd += shifted;
        }
        *(v8 *)(out + 2 * x) = __builtin_shufflevector(even, odd, 0, 4, 1, 5, 2, 6, 3, 7);
        if (last) break;
    }
}

#define KERNELS_FILE "halving_kernels.inc"
#include "variants.h"

void dae_halving_unfold(const float *input, float *col, long channels, long first, long count, long batch,
                        long height, long width) {
    DISPATCH(unfold, input, col, channels, first, count, batch, height, width);
}

void dae_halving_fold(const float *col, float *output, const float *initial, long channels, long first, long count,
                      long batch, long height, long width) {
    DISPATCH(fold, col, output, initial, channels, first, count, batch, height, width);
}
