/// Flatten / Unflatten between channel-major activations (`[C][N][P]`, what the convolutions
/// use) and sample-major rows (`[N][C*P]`, PyTorch's `Flatten` order, what `Linear` uses).
/// Both write their output in its own order and gather the input plane by plane: a plane is
/// not a whole number of cache lines, and scattered partial writes cost far more than
/// scattered reads.
public enum Layout {
    public static func channelMajorToSampleMajor(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
                                                 channels: Int, batch: Int, plane: Int) {
        Parallel.forEach(batch) { n in
            for c in 0..<channels {
                (y + (n * channels + c) * plane).update(from: x + (c * batch + n) * plane, count: plane)
            }
        }
    }

    public static func sampleMajorToChannelMajor(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
                                                 channels: Int, batch: Int, plane: Int) {
        Parallel.forEach(channels) { c in
            for n in 0..<batch {
                (y + (c * batch + n) * plane).update(from: x + (n * channels + c) * plane, count: plane)
            }
        }
    }
}
