#ifndef DAE_HALVING_H
#define DAE_HALVING_H

/* im2col and col2im for the model's halving convolutions (3x3, stride 2, padding 1, even
 * input sides H x W; output OH x OW = H/2 x W/2), for images [first, first + count) of a
 * channel-major `[channels][batch][H][W]` tensor and a `col` of those images alone,
 * `[channels * 9][count * OH * OW]` (see DAECore's Im2col.swift). On the calling thread. */

/* col = im2col(input). */
void dae_halving_unfold(const float *input, float *col, long channels, long first, long count, long batch,
                        long height, long width);

/* output = initial + col2im(col), each image written once; `initial` is one value per
 * channel, or NULL for 0. Sums run in the order of a loop over kernel rows, then columns. */
void dae_halving_fold(const float *col, float *output, const float *initial, long channels, long first, long count,
                      long batch, long height, long width);

#endif
