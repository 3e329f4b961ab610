import Foundation

/// Plain Float64 reference layers in PyTorch's NCHW layout, written for clarity, not speed:
/// the oracle the Float32 BLAS layers are checked against. Their own backward passes are
/// checked by Float64 finite differences (`GradientCheckTests`), so the chain is
/// finite differences -> reference -> production layer.
///
/// Each layer is a forward `f(z) -> y` over one flat vector `z` (input, then weight, then
/// bias) and a backward `(z, dy) -> dz` with the same packing.
struct ReferenceLayer {
    let name: String
    let inputCount: Int
    let forward: ([Double]) -> [Double]
    let backward: ([Double], [Double]) -> [Double]
}

enum Reference {
    static func conv2d(batch n: Int, inChannels c: Int, outChannels oc: Int, side h: Int, kernel k: Int, stride s: Int, padding p: Int) -> ReferenceLayer {
        let o = (h + 2 * p - k) / s + 1
        let xCount = n * c * h * h, wCount = oc * c * k * k
        func taps(_ body: (_ b: Int, _ ci: Int, _ co: Int, _ y: Int, _ x: Int, _ iy: Int, _ ix: Int, _ ki: Int, _ kj: Int) -> Void) {
            for b in 0..<n { for co in 0..<oc { for y in 0..<o { for x in 0..<o { for ci in 0..<c { for ki in 0..<k { for kj in 0..<k {
                let iy = y * s - p + ki, ix = x * s - p + kj
                if iy >= 0 && iy < h && ix >= 0 && ix < h { body(b, ci, co, y, x, iy, ix, ki, kj) }
            } } } } } } }
        }
        return ReferenceLayer(name: "Conv2d(\(c),\(oc),k\(k),s\(s),p\(p))", inputCount: xCount + wCount + oc, forward: { z in
            var out = [Double](repeating: 0, count: n * oc * o * o)
            for b in 0..<n { for co in 0..<oc { for i in 0..<(o * o) { out[(b * oc + co) * o * o + i] = z[xCount + wCount + co] } } }
            taps { b, ci, co, y, x, iy, ix, ki, kj in
                out[((b * oc + co) * o + y) * o + x] += z[((b * c + ci) * h + iy) * h + ix] * z[xCount + ((co * c + ci) * k + ki) * k + kj]
            }
            return out
        }, backward: { z, dy in
            var g = [Double](repeating: 0, count: z.count)
            taps { b, ci, co, y, x, iy, ix, ki, kj in
                let d = dy[((b * oc + co) * o + y) * o + x]
                let xi = ((b * c + ci) * h + iy) * h + ix, wi = xCount + ((co * c + ci) * k + ki) * k + kj
                g[xi] += d * z[wi]
                g[wi] += d * z[xi]
            }
            for b in 0..<n { for co in 0..<oc { for i in 0..<(o * o) { g[xCount + wCount + co] += dy[(b * oc + co) * o * o + i] } } }
            return g
        })
    }

    /// `y[b][co][i*s - p + ki][j*s - p + kj] += x[b][ci][i][j] * w[ci][co][ki][kj]`, the definition.
    static func convTranspose2d(batch n: Int, inChannels c: Int, outChannels oc: Int, side h: Int, kernel k: Int,
                                stride s: Int, padding p: Int, outputPadding v: Int) -> ReferenceLayer {
        let o = (h - 1) * s - 2 * p + k + v
        let xCount = n * c * h * h, wCount = c * oc * k * k
        func taps(_ body: (_ b: Int, _ ci: Int, _ co: Int, _ i: Int, _ j: Int, _ oy: Int, _ ox: Int, _ ki: Int, _ kj: Int) -> Void) {
            for b in 0..<n { for ci in 0..<c { for i in 0..<h { for j in 0..<h { for co in 0..<oc { for ki in 0..<k { for kj in 0..<k {
                let oy = i * s - p + ki, ox = j * s - p + kj
                if oy >= 0 && oy < o && ox >= 0 && ox < o { body(b, ci, co, i, j, oy, ox, ki, kj) }
            } } } } } } }
        }
        return ReferenceLayer(name: "ConvTranspose2d(\(c),\(oc),k\(k),s\(s),p\(p),op\(v))", inputCount: xCount + wCount + oc, forward: { z in
            var out = [Double](repeating: 0, count: n * oc * o * o)
            for b in 0..<n { for co in 0..<oc { for i in 0..<(o * o) { out[(b * oc + co) * o * o + i] = z[xCount + wCount + co] } } }
            taps { b, ci, co, i, j, oy, ox, ki, kj in
                out[((b * oc + co) * o + oy) * o + ox] += z[((b * c + ci) * h + i) * h + j] * z[xCount + ((ci * oc + co) * k + ki) * k + kj]
            }
            return out
        }, backward: { z, dy in
            var g = [Double](repeating: 0, count: z.count)
            taps { b, ci, co, i, j, oy, ox, ki, kj in
                let d = dy[((b * oc + co) * o + oy) * o + ox]
                let xi = ((b * c + ci) * h + i) * h + j, wi = xCount + ((ci * oc + co) * k + ki) * k + kj
                g[xi] += d * z[wi]
                g[wi] += d * z[xi]
            }
            for b in 0..<n { for co in 0..<oc { for i in 0..<(o * o) { g[xCount + wCount + co] += dy[(b * oc + co) * o * o + i] } } }
            return g
        })
    }

    /// Training-mode BatchNorm2d (biased batch variance, eps 1e-5), optionally followed by LeakyReLU.
    static func batchNorm2d(batch n: Int, channels c: Int, plane: Int, slope: Double?) -> ReferenceLayer {
        let xCount = n * c * plane, m = Double(n * plane), eps = 1e-5
        func stats(_ z: [Double], _ ch: Int) -> (mean: Double, invStd: Double) {
            var sum = 0.0
            for b in 0..<n { for i in 0..<plane { sum += z[(b * c + ch) * plane + i] } }
            let mean = sum / m
            var sq = 0.0
            for b in 0..<n { for i in 0..<plane { let d = z[(b * c + ch) * plane + i] - mean; sq += d * d } }
            return (mean, 1 / (sq / m + eps).squareRoot())
        }
        func preActivation(_ z: [Double]) -> [Double] {
            var out = [Double](repeating: 0, count: xCount)
            for ch in 0..<c {
                let (mean, invStd) = stats(z, ch)
                for b in 0..<n { for i in 0..<plane {
                    let idx = (b * c + ch) * plane + i
                    out[idx] = z[xCount + ch] * (z[idx] - mean) * invStd + z[xCount + c + ch]
                } }
            }
            return out
        }
        return ReferenceLayer(name: "BatchNorm2d(\(c))" + (slope == nil ? "" : "+LeakyReLU"), inputCount: xCount + 2 * c, forward: { z in
            let y = preActivation(z)
            guard let slope else { return y }
            return y.map { $0 > 0 ? $0 : $0 * slope }
        }, backward: { z, dyOut in
            let pre = preActivation(z)
            let dy = slope.map { s in zip(pre, dyOut).map { $0 > 0 ? $1 : $1 * s } } ?? dyOut
            var g = [Double](repeating: 0, count: z.count)
            for ch in 0..<c {
                let (mean, invStd) = stats(z, ch)
                var sumDy = 0.0, sumDyXhat = 0.0
                for b in 0..<n { for i in 0..<plane {
                    let idx = (b * c + ch) * plane + i
                    sumDy += dy[idx]
                    sumDyXhat += dy[idx] * (z[idx] - mean) * invStd
                } }
                g[xCount + ch] = sumDyXhat
                g[xCount + c + ch] = sumDy
                for b in 0..<n { for i in 0..<plane {
                    let idx = (b * c + ch) * plane + i
                    let xhat = (z[idx] - mean) * invStd
                    g[idx] = z[xCount + ch] * invStd * (dy[idx] - sumDy / m - xhat * sumDyXhat / m)
                } }
            }
            return g
        })
    }

    static func linear(batch n: Int, inFeatures i: Int, outFeatures o: Int) -> ReferenceLayer {
        let xCount = n * i, wCount = o * i
        return ReferenceLayer(name: "Linear(\(i),\(o))", inputCount: xCount + wCount + o, forward: { z in
            var out = [Double](repeating: 0, count: n * o)
            for b in 0..<n { for r in 0..<o {
                var acc = z[xCount + wCount + r]
                for q in 0..<i { acc += z[b * i + q] * z[xCount + r * i + q] }
                out[b * o + r] = acc
            } }
            return out
        }, backward: { z, dy in
            var g = [Double](repeating: 0, count: z.count)
            for b in 0..<n { for r in 0..<o {
                let d = dy[b * o + r]
                g[xCount + wCount + r] += d
                for q in 0..<i {
                    g[b * i + q] += d * z[xCount + r * i + q]
                    g[xCount + r * i + q] += d * z[b * i + q]
                }
            } }
            return g
        })
    }

    static func leakyReLU(count: Int, slope: Double = 0.01) -> ReferenceLayer {
        ReferenceLayer(name: "LeakyReLU", inputCount: count, forward: { z in z.map { $0 > 0 ? $0 : $0 * slope } },
                       backward: { z, dy in zip(z, dy).map { $0 > 0 ? $1 : $1 * slope } })
    }

    static func sigmoid(count: Int) -> ReferenceLayer {
        ReferenceLayer(name: "Sigmoid", inputCount: count, forward: { z in z.map { 1 / (1 + exp(-$0)) } },
                       backward: { z, dy in zip(z, dy).map { let s = 1 / (1 + exp(-$0)); return $1 * s * (1 - s) } })
    }

    /// `mean((prediction - target)^2)` over `count` elements; z = prediction then target.
    static func mse(count: Int) -> ReferenceLayer {
        ReferenceLayer(name: "MSELoss", inputCount: 2 * count, forward: { z in
            [(0..<count).reduce(0.0) { $0 + pow(z[$1] - z[count + $1], 2) } / Double(count)]
        }, backward: { z, dy in
            let gradPrediction = (0..<count).map { 2 * (z[$0] - z[count + $0]) / Double(count) * dy[0] }
            return gradPrediction + gradPrediction.map { -$0 }
        })
    }
}
