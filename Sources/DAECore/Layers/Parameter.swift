/// A trainable tensor and its gradient: windows at the same offset of the model's parameter,
/// gradient and gradient-sum buffers (or of any buffers, in tests).
///
/// Gradients are summed over the batch one shard slice at a time, each slice's
/// Float partial added into `gradientSum` in Double; `gradient` then holds the Float of that
/// sum. Because the slices of a global step are the same whatever the world size, and
/// Double sums of a few dozen Float partials do not depend on their order at Float
/// precision, 1, 2 and 4 ranks compute the same gradients.
public struct Parameter {
    public let value: UnsafeMutablePointer<Float>
    public let gradient: UnsafeMutablePointer<Float>
    public let gradientSum: UnsafeMutablePointer<Double>
    public let count: Int

    public init(value: UnsafeMutablePointer<Float>, gradient: UnsafeMutablePointer<Float>,
                gradientSum: UnsafeMutablePointer<Double>, count: Int) {
        self.value = value
        self.gradient = gradient
        self.gradientSum = gradientSum
        self.count = count
    }

    /// Sums this parameter's gradient over the batch, one slice at a time: `partial(thread,
    /// start, samples, into)` writes a slice's Float gradient into `into`, and the partials
    /// are added into `gradientSum` in Double, in slice order; `gradient` then holds the
    /// Float of the sum. With several compute threads (slices taken as they come, see
    /// `Parallel.forEachSlice`) each slice's partial gets its own scratch and the sums are
    /// made afterwards in the same order, so any thread count gives one thread's bits.
    func sumOverSlices(_ slices: [Int], scratch: ThreadScratch,
                         _ partial: (_ worker: Int, _ start: Int, _ size: Int, _ into: UnsafeMutablePointer<Float>) -> Void) {
        let workers = min(Parallel.threads, slices.count)
        guard workers > 1 && slices.count * count <= ThreadScratch.partialBudget else {
            forEachSlice(slices) { i, start, size in
                partial(0, start, size, gradient)
                accumulate(gradient, into: gradientSum, first: i == 0)
            }
            for i in 0..<count { gradient[i] = Float(gradientSum[i]) }
            return
        }
        let partials = scratch.slicePartials(slices: slices.count, count: count)
        let (length, sums, floats) = (count, gradientSum, gradient)
        Parallel.forEachSlice(slices) { worker, i, start, size in
            partial(worker, start, size, partials + i * length)
        }
        // In blocks that stay in L1, one partial at a time: a sequential read of each partial
        // rather than two dozen interleaved strided streams. Same additions, same order per value.
        Parallel.forEachChunk(length) { _, range in
            for blockStart in stride(from: range.lowerBound, to: range.upperBound, by: 512) {
                let block = blockStart..<min(blockStart + 512, range.upperBound)
                for j in block { sums[j] = Double(partials[j]) }
                for i in 1..<slices.count {
                    let partial = partials + i * length
                    for j in block { sums[j] += Double(partial[j]) }
                }
                for j in block { floats[j] = Float(sums[j]) }
            }
        }
    }

    @inline(__always)
    private func accumulate(_ part: UnsafePointer<Float>, into sum: UnsafeMutablePointer<Double>, first: Bool) {
        if first {
            for i in 0..<count { sum[i] = Double(part[i]) }
        } else {
            for i in 0..<count { sum[i] += Double(part[i]) }
        }
    }
}

/// Buffers of the compute threads, reused from step to step: one Float gradient partial per
/// shard slice for `Parameter.sumOverSlices`, as large as the largest parameter; and one
/// im2col buffer per thread for a shard slice at a time (`columns`). They grow when first
/// needed (the first step, or a larger slice or thread count) and never shrink.
public final class ThreadScratch {
    private var partials = FloatBuffer(count: 1)
    private var columnBuffers: [FloatBuffer] = []

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

    /// Makes sure each of the threads that will visit `slices` has a column buffer of
    /// `floatsPerImage` times the largest slice. Call before the parallel loop.
    func reserveColumns(for slices: [Int], floatsPerImage: Int) {
        Self.grow(&columnBuffers, workers: min(Parallel.threads, slices.count), count: floatsPerImage * (slices.max() ?? 0))
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

/// Visits the slices of a batch: `(index, first sample, samples)`.
@inline(__always)
func forEachSlice(_ slices: [Int], _ body: (Int, Int, Int) -> Void) {
    var start = 0
    for (i, size) in slices.enumerated() {
        body(i, start, size)
        start += size
    }
}

/// Per-channel helpers for channel-major (`[C][N*plane]`) activations.
enum ChannelOps {
    /// `parameter.gradient[j] = sum over rows n of data[n][j]` (sample-major data), in Double
    /// per slice of rows. Row by row, into `gradient` as the slice's Float partial: the
    /// rows are read in order rather than one strided column at a time.
    static func sumColumns(_ data: UnsafePointer<Float>, rows: Int, columns: Int, slices: [Int], into parameter: Parameter) {
        let (partial, total) = (parameter.gradient, parameter.gradientSum)
        total.update(repeating: 0, count: columns)
        forEachSlice(slices) { _, start, size in
            partial.update(repeating: 0, count: columns)
            for n in start..<(start + size) {
                let row = data + n * columns
                for j in 0..<columns { partial[j] += row[j] }
            }
            for j in 0..<columns { total[j] += Double(partial[j]) }
        }
        for j in 0..<columns { partial[j] = Float(total[j]) }
    }

    /// `parameter.gradient[c] = sum of data[c][slice]` over the batch's slices (`plane`
    /// values per sample), summed slice by slice in Double.
    static func sumRowsBySlice(_ data: UnsafePointer<Float>, channels: Int, plane: Int, slices: [Int], into parameter: Parameter) {
        let length = slices.reduce(0, +) * plane
        Parallel.forEach(channels) { c in
            var total: Double = 0
            forEachSlice(slices) { _, start, size in
                total += Reductions.sum(data + c * length + start * plane, count: size * plane)
            }
            parameter.gradientSum[c] = total
            parameter.gradient[c] = Float(total)
        }
    }
}
