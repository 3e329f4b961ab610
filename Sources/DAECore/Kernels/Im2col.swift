import CKernels

/// im2col and its adjoint col2im, for activations stored channel-major: `[C][N][H][W]`.
///
/// Channel-major ("CNHW") storage lets one GEMM cover a run of images:
/// `out[OC][n*OH*OW] = W[OC][C*k*k] x col[C*k*k][n*OH*OW]`, and the result is again CNHW.
/// Row `(c, ki, kj)` of `col` holds, for every image and output pixel, the input pixel the
/// kernel tap `(ki, kj)` of channel `c` sees there (0 in the padding).
///
/// Both directions cover a run of images of one shard slice on the calling thread, with a
/// `col` of that run alone: a per-thread buffer small enough to stay in cache between the
/// run's unfold, GEMMs and fold (see `forEachChunk`). No layer keeps a whole batch's `col`.
public enum Im2col {
    /// Where a `col` buffer's columns come from: images `images` of a batch of `batch` per
    /// channel, image `n` in the columns of image `n - images.lowerBound` of rows that hold
    /// `images.count` images.
    struct Columns {
        let images: Range<Int>
        let batch: Int
    }

    /// The output columns `[lo, hi)` whose kernel tap `kj` lands inside the input row.
    @inline(__always)
    static func validRange(tap: Int, geometry g: ConvGeometry) -> (lo: Int, hi: Int) {
        let first = g.padding - tap  // smallest ow * stride that lands on column 0
        let lo = first <= 0 ? 0 : (first + g.stride - 1) / g.stride
        let last = g.width - 1 + g.padding - tap
        let hi = last < 0 ? 0 : min(g.outWidth, last / g.stride + 1)
        return (min(lo, hi), hi)
    }

    /// Most Floats of one `col` buffer (1 MB): a shard slice's columns are made and used a
    /// few images at a time (`forEachChunk`), so that each chunk's unfold, GEMMs and fold
    /// meet in L2 rather than in L3 or memory. How a slice is chunked depends on its size
    /// only, so 1, 2 and 4 ranks still make the same products.
    static let columnBudget = 1 << 18

    /// Most images of one chunk: as many as keep their columns (`patchSize * outputPlane`
    /// Floats each) within `columnBudget`, at least one.
    static func chunkCapacity(geometry g: ConvGeometry) -> Int { max(1, columnBudget / max(1, g.patchSize * g.outputPlane)) }

    /// Calls `body(chunk, isFirst)` for the runs of images `images` splits into, in order: as
    /// few as keep each within `chunkCapacity`, of near-equal sizes.
    @inline(__always)
    static func forEachChunk(of images: Range<Int>, geometry g: ConvGeometry, _ body: (Range<Int>, Bool) -> Void) {
        let capacity = chunkCapacity(geometry: g)
        let chunks = (images.count + capacity - 1) / capacity
        guard chunks > 1 else { return body(images, true) }
        var start = images.lowerBound
        for i in 0..<chunks {
            // Near-equal runs: the first `images.count % chunks` get one image more.
            let size = images.count / chunks + (i < images.count % chunks ? 1 : 0)
            body(start..<(start + size), i == 0)
            start += size
        }
    }

    /// A slice's weight-gradient product, chunk by chunk: for each chunk of `images`, unfolds
    /// `unfolding` (`[C][batch][H][W]`) into `col` and adds `rows x col^T` into `partial`
    /// (`[m][patch]`; the first chunk overwrites it), where `rows` is `[m][batch*plane]`
    /// restricted to the chunk; then calls `withColumns(chunk)` while `col` still holds the
    /// chunk's columns, for the products that read them too.
    @inline(__always)
    static func weightProduct(rows: UnsafePointer<Float>, m: Int, unfolding source: UnsafePointer<Float>, images: Range<Int>,
                              batch: Int, geometry g: ConvGeometry, col: UnsafeMutablePointer<Float>,
                              into partial: UnsafeMutablePointer<Float>, withColumns: (Range<Int>) -> Void) {
        let (plane, patch) = (g.outputPlane, g.patchSize)
        forEachChunk(of: images, geometry: g) { chunk, isFirst in
            let n = chunk.count * plane
            unfold(source, images: chunk, batch: batch, geometry: g, into: col)
            BLAS.gemm(transposeA: false, transposeB: true, m: m, n: patch, k: n, a: rows + chunk.lowerBound * plane, lda: batch * plane,
                      b: col, ldb: n, beta: isFirst ? 0 : 1, c: partial, ldc: patch)
            withColumns(chunk)
        }
    }

    /// Unfolds images `images` of `input` (`[C][batch][H][W]`) into `col`
    /// (`[C*k*k][images.count*OH*OW]`), on the calling thread.
    public static func unfold(_ input: UnsafePointer<Float>, images: Range<Int>, batch: Int, geometry g: ConvGeometry,
                              into col: UnsafeMutablePointer<Float>) {
        if Halving.applies(to: g) {
            return dae_halving_unfold(input, col, g.channels, images.lowerBound, images.count, batch, g.height, g.width)
        }
        let columns = Columns(images: images, batch: batch)
        for c in 0..<g.channels { unfold(input, channel: c, columns, geometry: g, into: col) }
    }

    /// Folds `col` (`[C*k*k][images.count*OH*OW]`, images `images` only) back onto those
    /// images of `output` (`[C][batch][H][W]`), summing where patches overlap: the adjoint of
    /// `unfold`, on the calling thread. Those images are overwritten, starting from 0 or, given
    /// `initial` (one value per channel, a bias), from that.
    public static func fold(_ col: UnsafePointer<Float>, images: Range<Int>, batch: Int, geometry g: ConvGeometry,
                            into output: UnsafeMutablePointer<Float>, startingFrom initial: UnsafePointer<Float>? = nil) {
        if Halving.applies(to: g) {
            return dae_halving_fold(col, output, initial, g.channels, images.lowerBound, images.count, batch, g.height, g.width)
        }
        let columns = Columns(images: images, batch: batch)
        for c in 0..<g.channels { fold(col, channel: c, columns, geometry: g, into: output, startingFrom: initial?[c] ?? 0) }
    }

    /// `output = initial + col2im(W^T x source)` for the whole batch of `slices`, on the
    /// compute threads, chunk by chunk of each slice (see `forEachChunk`), each chunk's
    /// columns in the thread's buffer of `scratch`; a halving layer's product by dae-dist's
    /// own micro-kernel where `Halving.adjointWeights` packs `W` for it.
    static func multiplyAndFold(weight: UnsafePointer<Float>, k: Int, source: UnsafePointer<Float>, slices: [Int],
                                geometry g: ConvGeometry, scratch: ThreadScratch, into output: UnsafeMutablePointer<Float>,
                                startingFrom initial: UnsafePointer<Float>? = nil) {
        let batch = slices.reduce(0, +)
        let packed = Halving.adjointWeights(weight, k: k, geometry: g, scratch: scratch)
        scratch.reserveColumnChunks(for: slices, geometry: g, plus: packed == nil ? 0 : Halving.adjointPanelFloats(k: k))
        Parallel.forEachSlice(slices) { worker, _, start, size in
            forEachChunk(of: start..<(start + size), geometry: g) { chunk, _ in
                multiplyAndFold(weight: weight, packed: packed, k: k, source: source, images: chunk, batch: batch, geometry: g,
                                col: scratch.columns(worker), into: output, startingFrom: initial)
            }
        }
    }

    /// `output[images] = initial + col2im(W^T x source[images])`, where `W` is `[k][patch]`
    /// and `source` is `[k][batch*plane]`: the transposed convolution's forward and the
    /// convolution's input gradient, for one shard slice, its columns in `col`. Given
    /// `packed` (`Halving.adjointWeights`), the product is the halving kernels' own, its
    /// panel in `col` after the columns.
    static func multiplyAndFold(weight: UnsafePointer<Float>, packed: UnsafePointer<Float>? = nil, k: Int,
                                source: UnsafePointer<Float>, images: Range<Int>, batch: Int, geometry g: ConvGeometry,
                                col: UnsafeMutablePointer<Float>, into output: UnsafeMutablePointer<Float>,
                                startingFrom initial: UnsafePointer<Float>? = nil) {
        let plane = g.outputPlane, patch = g.patchSize, n = images.count * plane
        if let packed {
            Halving.adjointColumns(packed: packed, k: k, source: source + images.lowerBound * plane, ld: batch * plane, pixels: n,
                                   geometry: g, into: col)
        } else {
            BLAS.gemm(transposeA: true, transposeB: false, m: patch, n: n, k: k,
                      a: weight, lda: patch, b: source + images.lowerBound * plane, ldb: batch * plane, c: col, ldc: n)
        }
        fold(col, images: images, batch: batch, geometry: g, into: output, startingFrom: initial)
    }

    @inline(__always)
    private static func unfold(_ input: UnsafePointer<Float>, channel c: Int, _ columns: Columns, geometry g: ConvGeometry,
                               into col: UnsafeMutablePointer<Float>) {
        let (k, s, p) = (g.kernel, g.stride, g.padding)
        let (h, w, oh, ow) = (g.height, g.width, g.outHeight, g.outWidth)
        let rowLength = columns.images.count * oh * ow
        for ki in 0..<k {
            for kj in 0..<k {
                let row = col + ((c * k + ki) * k + kj) * rowLength
                let (lo, hi) = validRange(tap: kj, geometry: g)
                for n in columns.images {
                    let image = input + (c * columns.batch + n) * h * w
                    for y in 0..<oh {
                        let out = row + ((n - columns.images.lowerBound) * oh + y) * ow
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

    @inline(__always)
    private static func fold(_ col: UnsafePointer<Float>, channel c: Int, _ columns: Columns, geometry g: ConvGeometry,
                             into output: UnsafeMutablePointer<Float>, startingFrom initial: Float) {
        let (k, s, p) = (g.kernel, g.stride, g.padding)
        let (h, w, oh, ow) = (g.height, g.width, g.outHeight, g.outWidth)
        let rowLength = columns.images.count * oh * ow
        (output + (c * columns.batch + columns.images.lowerBound) * h * w).update(repeating: initial, count: columns.images.count * h * w)
        for ki in 0..<k {
            for kj in 0..<k {
                let row = col + ((c * k + ki) * k + kj) * rowLength
                let (lo, hi) = validRange(tap: kj, geometry: g)
                for n in columns.images {
                    let image = output + (c * columns.batch + n) * h * w
                    for y in 0..<oh {
                        let iy = y * s - p + ki
                        if iy < 0 || iy >= h { continue }
                        let source = row + ((n - columns.images.lowerBound) * oh + y) * ow
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
