/// Sums over long Float rows, vectorised: LLVM will not reorder a scalar float sum on its
/// own, so these keep 8-wide Float partial sums and flush them into Double every block,
/// which is both fast and exact to Float precision over a whole BatchNorm channel.
enum Reductions {
    private static let block = 256

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

    /// `(sum g, sum g * (x - mean))`.
    static func sumAndCenteredDot(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, mean: Float, count: Int) -> (sum: Double, dot: Double) {
        var sum: Double = 0, dot: Double = 0
        let m = SIMD8<Float>(repeating: mean)
        var start = 0
        while start < count {
            let end = min(start + block, count)
            var s = SIMD8<Float>(), d = SIMD8<Float>()
            var i = start
            while i + 8 <= end {
                let gv = load(g, i)
                s += gv
                d += gv * (load(x, i) - m)
                i += 8
            }
            var tailSum: Float = 0, tailDot: Float = 0
            while i < end { tailSum += g[i]; tailDot += g[i] * (x[i] - mean); i += 1 }
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
