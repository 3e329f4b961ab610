#ifndef DAE_BATCH_NORM_H
#define DAE_BATCH_NORM_H

/* BatchNorm's passes over one channel's values of one batch slice (a row of `count` floats;
 * see DAECore's BatchNorm2d.swift), on the calling thread.
 *
 * Sums are taken in Float over blocks of 256 values, in 32 lanes (value i of a block goes to
 * lane i mod 32 while 32 remain, the rest to lanes 0-23 by eights, then one scalar tail),
 * the lanes added in a fixed tree, and each block's total added into Double: exact to Float
 * precision over a whole channel, and the same order in every build. The LeakyReLU's input
 * is always `scale * x + shift` computed the same way, so backward recomputes forward's
 * branch bit for bit. `slope` 1 is no activation. */

/* sums[0] = sum x, sums[1] = sum x^2. */
void dae_sum_and_squares(const float *x, long count, double *sums);

/* sum x, in the same order as dae_sum_and_squares and dae_batch_norm_input_gradient. */
double dae_sum(const float *x, long count);

/* y = leakyReLU(scale * x + shift); y may be x. With `stream` nonzero, y is written by
 * stores that bypass the cache: for an output larger than the cache, whose lines would
 * otherwise be read in before being overwritten. */
void dae_affine_leaky_relu(const float *x, float *y, long count, float scale, float shift, float slope, int stream);

/* With g = dy through the LeakyReLU whose input was scale * x + shift:
 * sums[0] = sum g, sums[1] = sum g * (x - mean). */
void dae_activation_gradient_sums(const float *dy, const float *x, long count, float scale, float shift,
                                  float slope, float mean, double *sums);

/* g = input_scale * (dy' - mean_dy - (x - mean) * a), dy' being dy through the LeakyReLU
 * whose input was scale * x + shift; g may be dy. Returns sum g. */
double dae_batch_norm_input_gradient(const float *dy, const float *x, float *g, long count, float scale, float shift,
                                     float slope, float input_scale, float mean_dy, float mean, float a);

#endif
