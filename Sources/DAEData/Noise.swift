#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import DAECore

/// How an input is corrupted: the course's additive Gaussian noise, or the masking and
/// salt-and-pepper noise of the denoising autoencoder paper (Vincent et al., 2008).
public enum Corruption: String, Sendable, CaseIterable {
    /// `clip(x + f * N(0, 1), 0, 1)`: `f` is the standard deviation.
    case gaussian
    /// A fraction `f` of the pixels set to 0.
    case masking
    /// A fraction `f` of the pixels set to 0 or 1, with equal chance.
    case saltPepper = "salt-pepper"

    /// Whether `factor` is a fraction of the pixels (at most 1) rather than a deviation.
    public var factorIsFraction: Bool { self != .gaussian }
}

/// Pixel noise from a counter-based generator: the noise of a sample is a pure function of
/// (seed, epoch, sample index), so it is the same whichever rank draws it and however many
/// ranks there are, and nothing has to be carried from step to step.
///
/// Gaussian: each pair of pixels takes one 64-bit SplitMix64 hash of (key, pair) and turns its
/// two 24-bit halves into two normals by Box-Muller. Masking and salt-and-pepper: each pixel
/// takes one hash of (key, pixel) on another stream: 24 bits for whether it is corrupted, one
/// more for salt or pepper.
public struct NoiseGenerator: Sendable {
    public let seed: UInt64
    public let corruption: Corruption

    /// Epoch keys for the fixed noise of evaluation sets, distinct from any training epoch,
    /// so the validation loss of different epochs is comparable.
    public static let validationEpoch = Int.max - 1
    public static let testEpoch = Int.max - 2

    public init(seed: UInt64, corruption: Corruption = .gaussian) {
        self.seed = seed
        self.corruption = corruption
    }

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

    /// One 28 x 28 image (`clean` as bytes) into `cleanOut` and its corrupted copy `noisy`
    /// (see `Corruption`). `factor == 0` is the plain autoencoder: the input is the clean image.
    public func corrupt(_ clean: UnsafePointer<UInt8>, epoch: Int, sample: Int, factor: Float,
                        clean cleanOut: UnsafeMutablePointer<Float>, noisy: UnsafeMutablePointer<Float>) {
        let pixels = Architecture.imagePixels
        for i in 0..<pixels { cleanOut[i] = Float(clean[i]) * (1 / 255) }
        guard factor != 0 else {
            noisy.update(from: cleanOut, count: pixels)
            return
        }
        switch corruption {
        case .gaussian:
            normals(epoch: epoch, sample: sample, count: pixels, into: noisy)
            for i in 0..<pixels { noisy[i] = min(1, max(0, cleanOut[i] + factor * noisy[i])) }
        case .masking, .saltPepper:
            let k = key(epoch: epoch, sample: sample) ^ 0x4D41_534B  // a stream apart from the normals'
            let threshold = UInt64((Double(min(factor, 1)) * 16_777_216).rounded())
            for i in 0..<pixels {
                let bits = SplitMix64.mix(k &+ UInt64(i) &* 0x9E37_79B9_7F4A_7C15)
                if bits >> 40 < threshold {
                    noisy[i] = corruption == .masking ? 0 : Float(bits & 1)
                } else {
                    noisy[i] = cleanOut[i]
                }
            }
        }
    }
}
