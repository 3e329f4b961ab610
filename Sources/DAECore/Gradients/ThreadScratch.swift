/// Buffers of the compute threads, reused from step to step: one Float gradient partial per
/// shard slice for `Parameter.sumOverSlices`, as large as the largest parameter; one buffer
/// per thread (`columns`) for the im2col of a chunk of a shard slice at a time, or a fused
/// kernel's panels; and one layer's packed weights. They grow when first needed (the first
/// step, or a larger slice or thread count) and never shrink.
public final class ThreadScratch {
    private var partials = FloatBuffer(count: 1)
    private var columnBuffers: [FloatBuffer] = []
    private var packed = FloatBuffer(count: 1)

    /// Most Floats of per-slice partials a parameter may use (64 MB); a parameter that
    /// would need more (a Linear layer of a latent size in the hundreds) sums its slices on
    /// one thread instead.
    static let partialBudget = 16 << 20

    public init() {}

    /// Room for `slices` partials of `count` values, `[slice][count]`.
    func slicePartials(slices: Int, count: Int) -> UnsafeMutablePointer<Float> {
        if partials.count < slices * count { partials = FloatBuffer(count: slices * count) }
        return partials.pointer
    }

    /// Room for one layer's weights packed for a kernel (see `Halving.fusedForward`), shared
    /// by the compute threads, which only read it.
    func packedWeights(count: Int) -> UnsafeMutablePointer<Float> {
        if packed.count < count { packed = FloatBuffer(count: count) }
        return packed.pointer
    }

    /// Makes sure each of the threads that will visit `slices` has a column buffer of
    /// `floatsPerImage` times the largest slice. Call before the parallel loop.
    func reserveColumns(for slices: [Int], floatsPerImage: Int) {
        reserveColumns(for: slices, count: floatsPerImage * (slices.max() ?? 0))
    }

    /// Makes sure each of the threads that will visit `slices` has a column buffer of at
    /// least `count` Floats. Call before the parallel loop.
    func reserveColumns(for slices: [Int], count: Int) {
        Self.grow(&columnBuffers, workers: min(Parallel.threads, slices.count), count: count)
    }

    /// Makes sure each thread has a column buffer for one chunk (see `Im2col.forEachChunk`)
    /// of a slice of `slices` through a convolution of `geometry`, and `extra` Floats after
    /// it. Call before the parallel loop.
    func reserveColumnChunks(for slices: [Int], geometry: ConvGeometry, plus extra: Int = 0) {
        let images = min(slices.max() ?? 0, Im2col.chunkCapacity(geometry: geometry))
        Self.grow(&columnBuffers, workers: min(Parallel.threads, slices.count),
                  count: geometry.patchSize * geometry.outputPlane * images + extra)
    }

    /// Thread `worker`'s column buffer (see `reserveColumns`).
    func columns(_ worker: Int) -> UnsafeMutablePointer<Float> { columnBuffers[worker].pointer }

    /// At least `workers` buffers of at least `count` values; reallocates only to grow.
    private static func grow<Element>(_ buffers: inout [AlignedBuffer<Element>], workers: Int, count: Int) {
        if let first = buffers.first, first.count < count { buffers.removeAll() }
        let size = max(count, buffers.first?.count ?? 0)
        while buffers.count < workers { buffers.append(AlignedBuffer(count: size)) }
    }
}
