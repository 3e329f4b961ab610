/// im2col and its adjoint col2im, for activations stored channel-major: `[C][N][H][W]`.
///
/// Channel-major ("CNHW") storage lets one GEMM cover the whole batch:
/// `out[OC][N*OH*OW] = W[OC][C*k*k] x col[C*k*k][N*OH*OW]`, and the result is again CNHW.
/// Row `(c, ki, kj)` of `col` holds, for every image and output pixel, the input pixel the
/// kernel tap `(ki, kj)` of channel `c` sees there (0 in the padding).
public enum Im2col {
    /// The output columns `[lo, hi)` whose kernel tap `kj` lands inside the input row.
    @inline(__always)
    static func validRange(tap: Int, geometry g: ConvGeometry) -> (lo: Int, hi: Int) {
        let first = g.padding - tap  // smallest ow * stride that lands on column 0
        let lo = first <= 0 ? 0 : (first + g.stride - 1) / g.stride
        let last = g.width - 1 + g.padding - tap
        let hi = last < 0 ? 0 : min(g.outWidth, last / g.stride + 1)
        return (min(lo, hi), hi)
    }

    /// Unfolds `input` (`[C][N][H][W]`) into `col` (`[C*k*k][N*OH*OW]`).
    public static func unfold(_ input: UnsafePointer<Float>, batch: Int, geometry g: ConvGeometry, into col: UnsafeMutablePointer<Float>) {
        let (k, s, p) = (g.kernel, g.stride, g.padding)
        let (h, w, oh, ow) = (g.height, g.width, g.outHeight, g.outWidth)
        let rowLength = batch * oh * ow
        // Every (channel, run of images) fills its own stretch of the rows, so they run in
        // parallel; a single-channel input (the first convolution) is split by images.
        let runs = imageRuns(channels: g.channels, batch: batch)
        Parallel.forEach(g.channels * runs) { item in
            let (c, run) = item.quotientAndRemainder(dividingBy: runs)
            for ki in 0..<k {
                for kj in 0..<k {
                    let row = col + ((c * k + ki) * k + kj) * rowLength
                    let (lo, hi) = validRange(tap: kj, geometry: g)
                    for n in (batch * run / runs)..<(batch * (run + 1) / runs) {
                        let image = input + (c * batch + n) * h * w
                        for y in 0..<oh {
                            let out = row + (n * oh + y) * ow
                            let iy = y * s - p + ki
                            // Rows are 7 to 28 values: plain loops, not memset/memcpy calls.
                            if iy < 0 || iy >= h {
                                for x in 0..<ow { out[x] = 0 }
                                continue
                            }
                            for x in 0..<lo { out[x] = 0 }
                            let source = image + iy * w - p + kj
                            if s == 1 {
                                for x in lo..<hi { out[x] = source[x] }
                            } else {
                                for x in lo..<hi { out[x] = source[x * s] }
                            }
                            for x in hi..<ow { out[x] = 0 }
                        }
                    }
                }
            }
        }
    }

    /// Runs of images per channel for the parallel loops: one per channel unless there are
    /// fewer channels than threads.
    static func imageRuns(channels: Int, batch: Int) -> Int {
        min(batch, max(1, (Parallel.threads + channels - 1) / channels))
    }

    /// Folds `col` (`[C*k*k][N*OH*OW]`) back onto `output` (`[C][N][H][W]`), summing where
    /// patches overlap: the adjoint of `unfold`. `output` is overwritten, starting from 0 or,
    /// given `initial` (one value per channel, a bias), from that.
    public static func fold(_ col: UnsafePointer<Float>, batch: Int, geometry g: ConvGeometry, into output: UnsafeMutablePointer<Float>,
                            startingFrom initial: UnsafePointer<Float>? = nil) {
        let (k, s, p) = (g.kernel, g.stride, g.padding)
        let (h, w, oh, ow) = (g.height, g.width, g.outHeight, g.outWidth)
        let rowLength = batch * oh * ow
        // Rows of channel c only add into channel c's images: (channel, run of images) pairs
        // run in parallel, as in `unfold`.
        let runs = imageRuns(channels: g.channels, batch: batch)
        Parallel.forEach(g.channels * runs) { item in
            let (c, run) = item.quotientAndRemainder(dividingBy: runs)
            let (first, end) = (batch * run / runs, batch * (run + 1) / runs)
            (output + (c * batch + first) * h * w).update(repeating: initial?[c] ?? 0, count: (end - first) * h * w)
            for ki in 0..<k {
                for kj in 0..<k {
                    let row = col + ((c * k + ki) * k + kj) * rowLength
                    let (lo, hi) = validRange(tap: kj, geometry: g)
                    for n in first..<end {
                        let image = output + (c * batch + n) * h * w
                        for y in 0..<oh {
                            let iy = y * s - p + ki
                            if iy < 0 || iy >= h { continue }
                            let source = row + (n * oh + y) * ow
                            let target = image + iy * w - p + kj
                            if s == 1 {
                                for x in lo..<hi { target[x] += source[x] }
                            } else {
                                for x in lo..<hi { target[x * s] += source[x] }
                            }
                        }
                    }
                }
            }
        }
    }
}
