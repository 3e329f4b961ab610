#ifndef DAE_HALVING_CONV_H
#define DAE_HALVING_CONV_H

/* The forward and weight-gradient products of a halving convolution (3x3, stride 2,
 * padding 1, even input sides H x W, output H/2 x W/2) without an im2col buffer, in fp32
 * under the AVX-512 kernels. Forward: the columns are packed straight from
 * the input, 32 output pixels at a time, into a panel the size of L1 and multiplied there
 * by an AVX-512 micro-kernel of 8 output channels x 32 pixels. Each output value is its
 * bias plus one sum over k = (input channel, kernel row, kernel column) in that order,
 * whatever the images around it: a slice gives the same bits wherever it sits. */

/* Whether the fused product runs here: the AVX-512 build of the kernels runs (see
 * kernels.h), `rows` is a multiple of 8 and the input is at most 30 wide. */
int dae_halving_conv_applies(long rows, long width);

/* Floats of the panel buffer `dae_halving_conv_forward` needs. */
long dae_halving_conv_panel_floats(long channels);

/* Floats of the packed weights of a `rows` x k weight matrix. */
long dae_halving_conv_packed_floats(long rows, long k);

/* Packs `rows` x k weights for the micro-kernel: `weight` is `[rows][k]`, row-major, or
 * with `transposed` nonzero `[k][rows]` (rows a multiple of 8). */
void dae_halving_conv_pack_weights(const float *weight, long rows, long k, int transposed, float *packed);

/* output[r][(n * OH + y) * OW + x] = bias[r] + sum over k of W[r][k] im2col(input)[k][...],
 * for images [first, first + count) of `input` (`[channels][batch][H][W]`) into `output`
 * (`[rows][batch * OH * OW]`); `bias` may be NULL (0). On the calling thread, with its
 * own `panel`. Only where `dae_halving_conv_applies`. */
void dae_halving_conv_forward(const float *input, const float *packed, const float *bias, float *output, long rows,
                              long channels, long first, long count, long batch, long height, long width, float *panel);

/* The adjoint product ahead of col2im (a convolution's input gradient, a transposed
 * convolution's forward), by the same micro-kernel: col[r][p] = the sum over j < k, in
 * order, of W[j][r] x source[j][p], for r < m and p < pixels, where `packed` is `W`
 * (`[k][m]`, m a multiple of 8) packed transposed, `source` has rows `ld` apart, and `col`
 * (`[m][pixels]`) is overwritten. On the calling thread with its own `panel`
 * (`dae_halving_conv_adjoint_panel_floats(k)`); only where `dae_halving_conv_applies(m, width)`. */
void dae_halving_conv_adjoint_columns(const float *packed, long m, long k, const float *source, long ld, long pixels,
                                      float *col, float *panel);

/* Floats of the panel of `dae_halving_conv_adjoint_columns`. */
long dae_halving_conv_adjoint_panel_floats(long k);

/* The weight-gradient product without an im2col buffer: gradient[r][c * 9 + t] = the sum
 * over the pixels p of images [first, first + count), in order, of rows[r][first * OH * OW
 * + p] (`rows` `ld` apart: `[rows][batch * OH * OW]`) x im2col(input)[c * 9 + t][p]
 * (`input` `[channels][batch][H][W]`), overwriting `gradient` (`[rows][channels * 9]`). On
 * the calling thread with its own `scratch`; only where
 * `dae_halving_conv_weight_gradient_applies`. */
void dae_halving_conv_weight_gradient(const float *rows_in, long ld, const float *input, float *gradient, long rows,
                                      long channels, long first, long count, long batch, long height, long width,
                                      float *scratch);

/* Whether the fused weight gradient runs: `dae_halving_conv_applies`, `rows` a multiple of
 * 32 and `channels` of 32. */
int dae_halving_conv_weight_gradient_applies(long rows, long channels, long width);

/* Floats of the per-thread `scratch` of `dae_halving_conv_weight_gradient`. */
long dae_halving_conv_weight_gradient_scratch_floats(long rows, long channels);

#endif
