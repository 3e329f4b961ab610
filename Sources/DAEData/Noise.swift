#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import DAECore

/// Gaussian pixel noise from a counter-based generator: the noise of a sample is a pure
/// function of (seed, epoch, sample index), so it is the same whichever rank draws it and
/// however many ranks there are, and nothing has to be carried from step to step.
///
/// Each pair of pixels takes one 64-bit SplitMix64 hash of (key, pair) and turns its two
/// 24-bit halves into two normals by Box-Muller.
public struct NoiseGenerator: Sendable {
    public let seed: UInt64

    /// Epoch keys for the fixed noise of evaluation sets, distinct from any training epoch,
    /// so the validation loss of different epochs is comparable.
    public static let validationEpoch = Int.max - 1
    public static let testEpoch = Int.max - 2

    public init(seed: UInt64) { self.seed = seed }

    @inline(__always)
    func key(epoch: Int, sample: Int) -> UInt64 {
        SplitMix64.mix(SplitMix64.mix(SplitMix64.mix(seed ^ 0x4E4F_4953_45) ^ UInt64(bitPattern: Int64(epoch))) ^ UInt64(sample))
    }

    /// Standard normals for `count` values (count even) of sample `sample` in `epoch`.
    public func normals(epoch: Int, sample: Int, count: Int, into out: UnsafeMutablePointer<Float>) {
        let k = key(epoch: epoch, sample: sample)
        let scale: Float = 1.0 / 16_777_216.0
        for pair in 0..<(count / 2) {
            let bits = SplitMix64.mix(k &+ UInt64(pair) &* 0x9E37_79B9_7F4A_7C15)
            let u1 = Float((bits >> 40) + 1) * scale  // (0, 1]: log is finite
            let u2 = Float(bits & 0xFF_FFFF) * scale
            let radius = (-2 * logf(u1)).squareRoot()
            let angle = 2 * Float.pi * u2
            out[2 * pair] = radius * cosf(angle)
            out[2 * pair + 1] = radius * sinf(angle)
        }
    }

    /// `noisy = clip(clean + factor * N(0, 1), 0, 1)` for one 28 x 28 image; `clean` as bytes.
    /// `factor == 0` is the plain autoencoder: the input is the clean image.
    public func corrupt(_ clean: UnsafePointer<UInt8>, epoch: Int, sample: Int, factor: Float,
                        clean cleanOut: UnsafeMutablePointer<Float>, noisy: UnsafeMutablePointer<Float>) {
        for i in 0..<Digits.pixelsPerImage { cleanOut[i] = Float(clean[i]) * (1 / 255) }
        guard factor != 0 else {
            noisy.update(from: cleanOut, count: Digits.pixelsPerImage)
            return
        }
        normals(epoch: epoch, sample: sample, count: Digits.pixelsPerImage, into: noisy)
        for i in 0..<Digits.pixelsPerImage { noisy[i] = min(1, max(0, cleanOut[i] + factor * noisy[i])) }
    }
}
