/// A trainable tensor and its gradient: windows at the same offset of the model's parameter,
/// gradient and gradient-sum buffers (or of any buffers, in tests).
///
/// The gradient's truth is `gradientSum`: backward sums over the batch one shard slice at a
/// time, adding each slice's Float partial in Double, and the ranks all-reduce those Double
/// sums. `gradient`, what Adam reads, is derived from them in one place,
/// `ParameterSet.finishGradients`, after the reduction; until then backward may use it as
/// scratch for a slice's Float partial. Because the slices of a global step are the same
/// whatever the world size, and Double sums of a few dozen Float partials do not depend on
/// their order at Float precision, 1, 2 and 4 ranks compute the same gradients.
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
    /// are added into `gradientSum` in Double, in slice order. With several compute threads (slices taken as they come, see
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
            return
        }
        let partials = scratch.slicePartials(slices: slices.count, count: count)
        let (length, sums) = (count, gradientSum)
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

/// Visits the slices of a batch: `(index, first sample, samples)`.
@inline(__always)
func forEachSlice(_ slices: [Int], _ body: (Int, Int, Int) -> Void) {
    var start = 0
    for (i, size) in slices.enumerated() {
        body(i, start, size)
        start += size
    }
}
