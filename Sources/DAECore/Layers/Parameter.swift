/// A trainable tensor and its gradient: windows at the same offset of the model's parameter,
/// gradient and gradient-sum buffers (or of any buffers, in tests).
///
/// Gradients are summed over the batch one segment (shard slice) at a time, each segment's
/// Float partial added into `gradientSum` in Double; `gradient` then holds the Float of that
/// sum. Because the segments of a global step are the same whatever the world size, and
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

    /// Adds the Float partial in `gradient` into `gradientSum` (or starts it, for the first segment).
    @inline(__always)
    func accumulatePartial(first: Bool) {
        if first {
            for i in 0..<count { gradientSum[i] = Double(gradient[i]) }
        } else {
            for i in 0..<count { gradientSum[i] += Double(gradient[i]) }
        }
    }

    /// `gradient = Float(gradientSum)`, once every segment is in.
    @inline(__always)
    func finishGradient() {
        for i in 0..<count { gradient[i] = Float(gradientSum[i]) }
    }
}

/// Visits the segments of a batch: `(index, first sample, samples)`.
@inline(__always)
func forEachSegment(_ segments: [Int], _ body: (Int, Int, Int) -> Void) {
    var start = 0
    for (i, size) in segments.enumerated() {
        body(i, start, size)
        start += size
    }
}

/// Per-channel helpers for channel-major (`[C][N*plane]`) activations.
enum ChannelOps {
    /// `data[c][i] += bias[c]`.
    static func addBias(_ data: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, channels: Int, length: Int) {
        Parallel.forEach(channels) { c in
            let row = data + c * length
            let b = bias[c]
            for i in 0..<length { row[i] += b }
        }
    }

    /// `parameter.gradient[j] = sum over rows n of data[n][j]` (sample-major data), in Double
    /// per segment of rows.
    static func sumColumns(_ data: UnsafePointer<Float>, rows: Int, columns: Int, segments: [Int], into parameter: Parameter) {
        for j in 0..<columns {
            var total: Double = 0
            forEachSegment(segments) { _, start, size in
                var part: Float = 0
                for n in start..<(start + size) { part += data[n * columns + j] }
                total += Double(part)
            }
            parameter.gradientSum[j] = total
            parameter.gradient[j] = Float(total)
        }
    }

    /// `parameter.gradient[c] = sum of data[c][segment]` over the batch's segments (`plane`
    /// values per sample), summed segment by segment in Double.
    static func sumRowsBySegment(_ data: UnsafePointer<Float>, channels: Int, plane: Int, segments: [Int], into parameter: Parameter) {
        let length = segments.reduce(0, +) * plane
        Parallel.forEach(channels) { c in
            var total: Double = 0
            forEachSegment(segments) { _, start, size in
                total += Reductions.sum(data + c * length + start * plane, count: size * plane)
            }
            parameter.gradientSum[c] = total
            parameter.gradient[c] = Float(total)
        }
    }
}
