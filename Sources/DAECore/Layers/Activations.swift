#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Element-wise activations. Backward passes read the forward *output*: for LeakyReLU its
/// sign is the input's (the slope is positive), for Sigmoid `s' = s (1 - s)`.
public enum LeakyReLU {
    public static let defaultSlope: Float = 0.01

    public static func forward(_ x: UnsafePointer<Float>, output y: UnsafeMutablePointer<Float>, count: Int,
                               slope: Float = defaultSlope) {
        Parallel.forEachElementChunk(count) { range in
            for i in range { let v = x[i]; y[i] = v > 0 ? v : v * slope }
        }
    }

    /// `gradInput` may alias `gradOutput`.
    public static func backward(output y: UnsafePointer<Float>, gradOutput dy: UnsafePointer<Float>,
                                gradInput dx: UnsafeMutablePointer<Float>, count: Int, slope: Float = defaultSlope) {
        Parallel.forEachElementChunk(count) { range in
            for i in range { dx[i] = y[i] > 0 ? dy[i] : dy[i] * slope }
        }
    }
}

public enum Sigmoid {
    /// Split over the compute threads: `expf` makes this the costliest element-wise loop.
    public static func forward(_ x: UnsafePointer<Float>, output y: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.forEachElementChunk(count, minimum: 4_096) { range in
            for i in range { y[i] = 1 / (1 + expf(-x[i])) }
        }
    }

    /// `gradInput` may alias `gradOutput`.
    public static func backward(output y: UnsafePointer<Float>, gradOutput dy: UnsafePointer<Float>,
                                gradInput dx: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.forEachElementChunk(count) { range in
            for i in range { let s = y[i]; dx[i] = dy[i] * s * (1 - s) }
        }
    }
}
