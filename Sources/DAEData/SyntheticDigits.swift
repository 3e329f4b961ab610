#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import DAECore

/// Procedurally drawn digit-like images for tests and offline demos: each class is a few
/// strokes (segments and arcs) drawn with a random slant, scale, shift and pen width, and
/// anti-aliased like a scanned pen stroke. Deterministic from (seed, sample index), any count.
public enum SyntheticDigits {
    typealias Point = (x: Float, y: Float)

    /// Stroke templates in a unit box (y down), one list of polylines per digit class.
    static let templates: [[[Point]]] = {
        func arc(_ cx: Float, _ cy: Float, _ rx: Float, _ ry: Float, from a0: Float, to a1: Float) -> [Point] {
            (0...16).map { i in
                let a = a0 + (a1 - a0) * Float(i) / 16
                return (cx + rx * cosf(a), cy + ry * sinf(a))
            }
        }
        let pi = Float.pi
        return [
            [arc(0.5, 0.5, 0.3, 0.42, from: 0, to: 2 * pi)],                                           // 0
            [[(0.35, 0.25), (0.55, 0.08), (0.55, 0.92)]],                                               // 1
            [arc(0.5, 0.32, 0.28, 0.24, from: -pi, to: 0.25 * pi) + [(0.2, 0.92), (0.82, 0.92)]],       // 2
            [arc(0.48, 0.3, 0.26, 0.21, from: -0.9 * pi, to: 0.5 * pi), arc(0.48, 0.7, 0.3, 0.22, from: -0.5 * pi, to: 0.9 * pi)], // 3
            [[(0.6, 0.92), (0.6, 0.08), (0.18, 0.65), (0.85, 0.65)]],                                   // 4
            [[(0.78, 0.1), (0.3, 0.1), (0.26, 0.45)] + arc(0.5, 0.65, 0.3, 0.26, from: -0.8 * pi, to: 0.85 * pi)], // 5
            [arc(0.55, 0.45, 0.3, 0.45, from: -0.6 * pi, to: -pi) + arc(0.5, 0.68, 0.27, 0.24, from: pi, to: 3 * pi)], // 6
            [[(0.18, 0.1), (0.82, 0.1), (0.42, 0.92)]],                                                 // 7
            [arc(0.5, 0.28, 0.22, 0.2, from: 0, to: 2 * pi), arc(0.5, 0.7, 0.28, 0.23, from: 0, to: 2 * pi)], // 8
            [arc(0.48, 0.32, 0.27, 0.23, from: 0, to: 2 * pi), [(0.75, 0.32), (0.68, 0.92)]],           // 9
        ]
    }()

    /// `count` images with labels, sample indices `firstIndex...`.
    public static func make(count: Int, seed: UInt64, firstIndex: Int = 0) -> Digits {
        var pixels = [UInt8](repeating: 0, count: count * Architecture.imagePixels)
        var labels = [UInt8](repeating: 0, count: count)
        pixels.withUnsafeMutableBufferPointer { buffer in
            for i in 0..<count {
                labels[i] = draw(sample: firstIndex + i, seed: seed, into: buffer.baseAddress! + i * Architecture.imagePixels)
            }
        }
        return Digits(pixels: pixels, labels: labels, sampleIndices: Array(firstIndex..<(firstIndex + count)))
    }

    /// The class of sample `sample` (what `draw` returns), without drawing it.
    static func label(sample: Int, seed: UInt64) -> UInt8 {
        var rng = generator(sample: sample, seed: seed)
        return UInt8(rng.next() % 10)
    }

    private static func generator(sample: Int, seed: UInt64) -> SplitMix64 {
        SplitMix64(seed: SplitMix64.mix(SplitMix64.mix(seed ^ 0x5359_4E54) ^ UInt64(sample)))
    }

    /// Draws sample `sample` into 784 bytes and returns its class.
    static func draw(sample: Int, seed: UInt64, into image: UnsafeMutablePointer<UInt8>) -> UInt8 {
        var rng = generator(sample: sample, seed: seed)
        func uniform(_ lo: Float, _ hi: Float) -> Float { lo + (hi - lo) * rng.nextUnitFloat() }
        let label = Int(rng.next() % 10)
        let size = uniform(16, 21), slant = uniform(-0.3, 0.3), aspect = uniform(0.8, 1.1)
        let cx = 14 + uniform(-1.5, 1.5), cy = 14 + uniform(-1.5, 1.5)
        let pen = uniform(0.9, 1.8)
        // The template box [0,1]^2 mapped to pixels: scaled, slanted (x shifts with y), centred.
        let segments: [(Point, Point)] = templates[label].flatMap { line in
            let mapped = line.map { p -> Point in
                let y = (p.y - 0.5) * size, x = (p.x - 0.5) * size * aspect
                return (cx + x - slant * y, cy + y)
            }
            return zip(mapped, mapped.dropFirst()).map { ($0, $1) }
        }
        let side = Architecture.imageSide
        for row in 0..<side {
            for column in 0..<side {
                let px = Float(column) + 0.5, py = Float(row) + 0.5
                var nearest = Float.infinity
                for (a, b) in segments {
                    let dx = b.x - a.x, dy = b.y - a.y
                    let t = max(0, min(1, ((px - a.x) * dx + (py - a.y) * dy) / max(dx * dx + dy * dy, 1e-6)))
                    let ex = a.x + t * dx - px, ey = a.y + t * dy - py
                    nearest = min(nearest, ex * ex + ey * ey)
                }
                let ink = max(0, min(1, pen + 0.5 - nearest.squareRoot()))  // full inside the pen, a one-pixel soft edge
                image[row * side + column] = UInt8((ink * 255).rounded())
            }
        }
        return UInt8(label)
    }
}
