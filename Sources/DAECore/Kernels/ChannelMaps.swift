/// BatchNorm's per-channel element-wise maps over long Float rows, written 8 wide: the
/// compiler leaves the scalar loops (a select on a recomputed branch, a possibly aliased
/// output) unvectorised. Each lane does exactly the scalar arithmetic, in the same order,
/// so results are bit-identical to the scalar form and the tail uses it.
enum ChannelMaps {
    @inline(__always)
    private static func load(_ p: UnsafePointer<Float>, _ i: Int) -> SIMD8<Float> {
        UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always)
    private static func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
        UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    /// `y = leakyReLU(scale * x + shift)` (`slope` on the negative side; slope 1 is the
    /// plain affine map).
    static func affineLeakyReLU(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int,
                                scale: Float, shift: Float, slope: Float) {
        let (sc, sh, sl) = (SIMD8<Float>(repeating: scale), SIMD8<Float>(repeating: shift), SIMD8<Float>(repeating: slope))
        var i = 0
        while i + 8 <= count {
            let v = sc * load(x, i) + sh
            store((v * sl).replacing(with: v, where: v .> 0), y, i)
            i += 8
        }
        while i < count {
            let v = scale * x[i] + shift
            y[i] = v > 0 ? v : v * slope
            i += 1
        }
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
        let (fs, fh, sl) = (SIMD8<Float>(repeating: forwardScale), SIMD8<Float>(repeating: forwardShift), SIMD8<Float>(repeating: slope))
        let (sc, b, m, av) = (SIMD8<Float>(repeating: scale), SIMD8<Float>(repeating: meanDy), SIMD8<Float>(repeating: mean),
                              SIMD8<Float>(repeating: a))
        var total: Double = 0
        var start = 0
        while start < count {
            let end = min(start + Reductions.block, count)
            var sum = SIMD8<Float>()
            var i = start
            while i + 8 <= end {
                let xv = load(x, i), dyv = load(dy, i)
                let v = fs * xv + fh
                let through = (dyv * sl).replacing(with: dyv, where: v .> 0)
                let gv = sc * (through - b - (xv - m) * av)
                store(gv, g, i)
                sum += gv
                i += 8
            }
            var tail: Float = 0
            while i < end {
                let v = forwardScale * x[i] + forwardShift
                let through = v > 0 ? dy[i] : dy[i] * slope
                g[i] = scale * (through - meanDy - (x[i] - mean) * a)
                tail += g[i]
                i += 1
            }
            total += Double(sum.sum() + tail)
            start = end
        }
        return total
    }
}
