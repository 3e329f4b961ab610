import CKernels

/// BatchNorm's per-channel element-wise maps over long Float rows, by the C kernels of
/// `include/batch_norm.h`. The LeakyReLU's input `scale * x + shift` is computed the same
/// way by every map, so backward recomputes forward's branch bit for bit.
enum ChannelMaps {
    /// `y = leakyReLU(scale * x + shift)` (`slope` on the negative side; slope 1 is the
    /// plain affine map). `streaming` writes `y` past the cache, for outputs larger than it.
    static func affineLeakyReLU(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int,
                                scale: Float, shift: Float, slope: Float, streaming: Bool) {
        dae_affine_leaky_relu(x, y, count, scale, shift, slope, streaming ? 1 : 0)
    }

    /// BatchNorm's input gradient through its LeakyReLU:
    /// `g = scale * (dy' - meanDy - (x - mean) * a)`, where `dy'` is `dy` through the
    /// LeakyReLU whose input was `forwardScale * x + forwardShift`. `g` may alias `dy`.
    /// Returns `sum g`, summed as `Reductions.sum` sums (the gradient of a bias before the
    /// BatchNorm), so no other pass has to read `g` back.
    @discardableResult
    static func batchNormInputGradient(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ g: UnsafeMutablePointer<Float>,
                                       count: Int, forwardScale: Float, forwardShift: Float, slope: Float,
                                       scale: Float, meanDy: Float, mean: Float, a: Float) -> Double {
        dae_batch_norm_input_gradient(dy, x, g, count, forwardScale, forwardShift, slope, scale, meanDy, mean, a)
    }
}
