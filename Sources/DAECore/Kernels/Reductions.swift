import CKernels

/// Sums over long Float rows (a channel's values of one batch slice), by the C kernels of
/// `include/batch_norm.h`: Float partial sums in 32 lanes, each block of 256 values flushed
/// into Double, which is both fast and exact to Float precision over a whole BatchNorm
/// channel, in the same order in every kernel build.
enum Reductions {
    /// `(sum x, sum x^2)`.
    static func sumAndSquares(_ x: UnsafePointer<Float>, count: Int) -> (sum: Double, squares: Double) {
        var sums = (0.0, 0.0)
        withUnsafeMutablePointer(to: &sums) {
            $0.withMemoryRebound(to: Double.self, capacity: 2) { dae_sum_and_squares(x, count, $0) }
        }
        return sums
    }

    /// `(sum g, sum g * (x - mean))` where `g` is `dy` through a LeakyReLU whose input was
    /// `scale * x + shift` (`slope` on its negative side), as BatchNorm's backward needs it.
    static func activationGradientSums(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, scale: Float, shift: Float,
                                       slope: Float, mean: Float, count: Int) -> (sum: Double, dot: Double) {
        var sums = (0.0, 0.0)
        withUnsafeMutablePointer(to: &sums) {
            $0.withMemoryRebound(to: Double.self, capacity: 2) {
                dae_activation_gradient_sums(dy, x, count, scale, shift, slope, mean, $0)
            }
        }
        return sums
    }

    /// `sum x`, in the order of the sums above.
    static func sum(_ x: UnsafePointer<Float>, count: Int) -> Double {
        dae_sum(x, count)
    }
}
