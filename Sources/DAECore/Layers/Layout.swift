/// Flatten / Unflatten between channel-major activations (`[C][N][P]`, what the convolutions
/// use) and sample-major rows (`[N][C*P]`, PyTorch's `Flatten` order, what `Linear` uses).
/// Both write their output in order (sample by sample, channel by channel) and gather the
/// input: a plane is a fraction of a cache line's multiple, and scattered partial writes cost
/// far more than scattered reads.
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
