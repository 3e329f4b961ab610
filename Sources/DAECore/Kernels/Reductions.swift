/// Sums over long Float rows, vectorised: LLVM will not reorder a scalar float sum on its
/// own, so these keep 8-wide Float partial sums and flush them into Double every block,
/// which is both fast and exact to Float precision over a whole BatchNorm channel.
enum Reductions {
    /// Values summed in Float before each flush into Double.
    static let block = 256

    @inline(__always)
    private static func load(_ p: UnsafePointer<Float>, _ i: Int) -> SIMD8<Float> {
        UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
    }

    /// `(sum x, sum x^2)`.
    static func sumAndSquares(_ x: UnsafePointer<Float>, count: Int) -> (sum: Double, squares: Double) {
        var sum: Double = 0, squares: Double = 0
        var start = 0
        while start < count {
            let end = min(start + block, count)
            var s = SIMD8<Float>(), q = SIMD8<Float>()
            var i = start
            while i + 8 <= end {
                let v = load(x, i)
                s += v
                q += v * v
                i += 8
            }
            var tailSum: Float = 0, tailSquares: Float = 0
            while i < end { tailSum += x[i]; tailSquares += x[i] * x[i]; i += 1 }
            sum += Double(s.sum() + tailSum)
            squares += Double(q.sum() + tailSquares)
            start = end
        }
        return (sum, squares)
    }

    /// `(sum g, sum g * (x - mean))` where `g` is `dy` through a LeakyReLU whose input was
    /// `scale * x + shift` (`slope` on its negative side), as BatchNorm's backward needs it.
    static func activationGradientSums(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, scale: Float, shift: Float,
                                       slope: Float, mean: Float, count: Int) -> (sum: Double, dot: Double) {
        var sum: Double = 0, dot: Double = 0
        let (m, sc, sh, sl) = (SIMD8<Float>(repeating: mean), SIMD8<Float>(repeating: scale), SIMD8<Float>(repeating: shift),
                               SIMD8<Float>(repeating: slope))
        var start = 0
        while start < count {
            let end = min(start + block, count)
            var s = SIMD8<Float>(), d = SIMD8<Float>()
            var i = start
            while i + 8 <= end {
                let xv = load(x, i), dyv = load(dy, i)
                let v = sc * xv + sh
                let g = (dyv * sl).replacing(with: dyv, where: v .> 0)
                s += g
                d += g * (xv - m)
                i += 8
            }
            var tailSum: Float = 0, tailDot: Float = 0
            while i < end {
                let v = scale * x[i] + shift
                let g = v > 0 ? dy[i] : dy[i] * slope
                tailSum += g
                tailDot += g * (x[i] - mean)
                i += 1
            }
            sum += Double(s.sum() + tailSum)
            dot += Double(d.sum() + tailDot)
            start = end
        }
        return (sum, dot)
    }

    /// `sum x`.
    static func sum(_ x: UnsafePointer<Float>, count: Int) -> Double {
        var total: Double = 0
        var start = 0
        while start < count {
            let end = min(start + block, count)
            var s = SIMD8<Float>()
            var i = start
            while i + 8 <= end { s += load(x, i); i += 8 }
            var tail: Float = 0
            while i < end { tail += x[i]; i += 1 }
            total += Double(s.sum() + tail)
            start = end
        }
        return total
    }
}
