#ifndef DAE_DIRECT3X3_H
#define DAE_DIRECT3X3_H

/* 3x3 convolutions, stride 1, padding 1, between one channel and `channels`, computed
 * directly (see DAECore's Direct3x3.swift for the maps and why). Tensors are channel-major,
 * `[C][batch][H][W]` and `[1][batch][H][W]`; each call covers images [first, first + count)
 * on the calling thread, with `workspace` of `dae_direct3x3_workspace_floats(count, ...)`
 * floats. Weights are `[channels][3][3]`. */

/* Floats of workspace a call over `images` images needs. */
long dae_direct3x3_workspace_floats(long images, long height, long width);

/* multi[c][n] = bias[c] + correlation of single[n] with weights[c]; bias may be NULL (0). */
void dae_direct3x3_convolve(const float *single, const float *weights, const float *bias, float *multi,
                            long channels, long first, long count, long batch, long height, long width,
                            float *workspace);

/* The adjoint: single[n] = initial + sum over c of multi[c][n] through weights[c] turned by 180 degrees. */
void dae_direct3x3_convolve_adjoint(const float *multi, const float *weights, float initial, float *single,
                                    long channels, long first, long count, long batch, long height, long width,
                                    float *workspace);

/* partial[c][t] = sum over the images and pixels p of multi[c][n][p] * single[n][tap t of p]. */
void dae_direct3x3_weight_gradient(const float *multi, const float *single, float *partial,
                                   long channels, long first, long count, long batch, long height, long width,
                                   float *workspace);

#endif
