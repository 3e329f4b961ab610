import DAEData
import XCTest

final class SyntheticDigitsTests: XCTestCase {
    func testDeterministicAndIndexedBySample() {
        let a = SyntheticDigits.make(count: 20, seed: 1)
        let b = SyntheticDigits.make(count: 20, seed: 1)
        let c = SyntheticDigits.make(count: 20, seed: 2)
        let tail = SyntheticDigits.make(count: 5, seed: 1, firstIndex: 15)
        XCTAssertEqual(a.pixels, b.pixels)
        XCTAssertEqual(a.labels, b.labels)
        XCTAssertNotEqual(a.pixels, c.pixels)
        XCTAssertEqual(Array(a.pixels[(15 * 784)...]), tail.pixels, "a sample's image depends on its index, not on the batch")
        XCTAssertEqual(tail.sampleIndices, Array(15..<20))
    }

    /// Digit-like, not noise: mostly dark background, a minority of ink, bright stroke cores,
    /// smooth neighbours, ink centred, and every class drawn.
    func testPixelStatisticsLookLikeMNIST() {
        let digits = SyntheticDigits.make(count: 500, seed: 3)
        let values = digits.pixels.map { Double($0) / 255 }
        let mean = values.reduce(0, +) / Double(values.count)
        XCTAssertGreaterThan(mean, 0.05)
        XCTAssertLessThan(mean, 0.3)
        let dark = Double(values.filter { $0 == 0 }.count) / Double(values.count)
        let bright = Double(values.filter { $0 > 0.9 }.count) / Double(values.count)
        XCTAssertGreaterThan(dark, 0.5, "mostly background")
        XCTAssertGreaterThan(bright, 0.03, "solid strokes")
        var jumps = 0.0
        for i in 0..<(digits.count * 28 * 28 - 1) where (i + 1) % 28 != 0 { jumps += abs(values[i] - values[i + 1]) }
        XCTAssertLessThan(jumps / Double(values.count), 0.15, "neighbouring pixels are correlated, unlike noise")
        // Ink sits near the centre, as MNIST's does.
        var border = 0.0, centre = 0.0
        for n in 0..<digits.count { for r in 0..<28 { for c in 0..<28 {
            let v = values[n * 784 + r * 28 + c]
            if r < 2 || r > 25 || c < 2 || c > 25 { border += v } else if (8..<20).contains(r) && (8..<20).contains(c) { centre += v }
        } } }
        XCTAssertLessThan(border, 0.02 * centre)
        XCTAssertEqual(Set(digits.labels), Set(0..<10))
    }
}
