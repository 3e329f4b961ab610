/// A trainable tensor and its gradient: two windows at the same offset of the model's
/// parameter and gradient buffers (or of any two buffers, in tests).
public struct Parameter {
    public let value: UnsafeMutablePointer<Float>
    public let gradient: UnsafeMutablePointer<Float>
    public let count: Int

    public init(value: UnsafeMutablePointer<Float>, gradient: UnsafeMutablePointer<Float>, count: Int) {
        self.value = value
        self.gradient = gradient
        self.count = count
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

    /// `sums[c] = sum_i data[c][i]`, with Double-flushed partial sums (see `Reductions`).
    static func sumRows(_ data: UnsafePointer<Float>, channels: Int, length: Int, into sums: UnsafeMutablePointer<Float>) {
        Parallel.forEach(channels) { c in
            sums[c] = Float(Reductions.sum(data + c * length, count: length))
        }
    }
}
