import CKernels

/// 3x3 convolutions with stride 1 and padding 1 between one channel and `C` channels (the
/// model's first convolution and last transposed convolution), computed directly.
///
/// As im2col + GEMM these products have 9 rows or a depth of 9, too thin for BLAS's kernels
/// (`bench --gemm-shapes` shows their rate), and a 9-row column matrix streams through
/// memory besides. Directly, each image's single-channel plane
/// is copied once into a zero-bordered buffer that stays in L1 and every tap is an 8-wide
/// load from it. The kernels are C (`CKernels`), built for AVX-512, AVX2 + FMA and the
/// baseline (see `KernelBuild`).
///
/// The three maps, for images `images` of `[C][batch][H][W]` ("multi") and `[1][batch][H][W]`
/// ("single") tensors and weights `[C][3][3]` (PyTorch's layout for both `Conv2d(1, C)` and
/// `ConvTranspose2d(C, 1)`), with `tap(p, t)` the pixel tap `t` of the kernel centred on `p`
/// sees (0 outside the image):
/// - `convolve`: `multi[c][p] = bias[c] + sum_t w[c][t] * single[tap(p, t)]`, the
///   convolution's forward and the transposed convolution's input gradient;
/// - `convolveAdjoint`: its adjoint, `single[q] = initial + sum_c sum_(p, t: tap(p, t) = q)
///   w[c][t] * multi[c][p]`, the transposed convolution's forward and the convolution's
///   input gradient;
/// - `weightGradient`: `partial[c][t] = sum_p multi[c][p] * single[tap(p, t)]`, both layers'.
/// Each runs on the calling thread, summing in a fixed order, so results do not depend on
/// how many threads or ranks share the batch.
enum Direct3x3 {
    static func applies(to g: ConvGeometry) -> Bool {
        g.channels == 1 && g.kernel == 3 && g.stride == 1 && g.padding == 1
    }

    /// Floats of per-thread workspace a call needs per image.
    static func workspacePerImage(geometry g: ConvGeometry) -> Int {
        dae_direct3x3_workspace_floats(1, g.height, g.width)
    }

    static func convolve(_ single: UnsafePointer<Float>, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                         into multi: UnsafeMutablePointer<Float>, channels: Int, images: Range<Int>, batch: Int,
                         geometry g: ConvGeometry, workspace: UnsafeMutablePointer<Float>) {
        dae_direct3x3_convolve(single, weights, bias, multi, channels, images.lowerBound, images.count, batch,
                               g.height, g.width, workspace)
    }

    static func convolveAdjoint(_ multi: UnsafePointer<Float>, weights: UnsafePointer<Float>, initial: Float,
                                into single: UnsafeMutablePointer<Float>, channels: Int, images: Range<Int>, batch: Int,
                                geometry g: ConvGeometry, workspace: UnsafeMutablePointer<Float>) {
        dae_direct3x3_convolve_adjoint(multi, weights, initial, single, channels, images.lowerBound, images.count, batch,
                                       g.height, g.width, workspace)
    }

    static func weightGradient(_ multi: UnsafePointer<Float>, _ single: UnsafePointer<Float>, channels: Int,
                               images: Range<Int>, batch: Int, geometry g: ConvGeometry,
                               workspace: UnsafeMutablePointer<Float>, into partial: UnsafeMutablePointer<Float>) {
        dae_direct3x3_weight_gradient(multi, single, partial, channels, images.lowerBound, images.count, batch,
                                      g.height, g.width, workspace)
    }
}
