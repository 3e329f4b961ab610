import CKernels
import DAECore
import XCTest

/// BatchNorm's channel passes (include/batch_norm.h) against their definitions in Double, in
/// every build of the C kernels this CPU runs, at lengths on and off their 8-, 32- and
/// 256-value steps; and the bits the builds must share.
final class ChannelPassesTests: XCTestCase {
    override func tearDown() { KernelBuild.force(nil) }

    static let counts = [0, 1, 7, 8, 9, 31, 32, 33, 56, 255, 256, 257, 600, 1000, 4099]
    let (scale, shift, slope, mean) = (Float(1.3), Float(-0.2), Float(0.01), Float(0.1))
    let (inputScale, meanDy, a) = (Float(0.7), Float(0.05), Float(-0.3))

    private func values(_ count: Int, seed: UInt64) -> [Float] {
        randomValues(count, seed: seed).map { Float($0) }
    }

    /// Every output of the five passes on `x` and `dy`, as bit patterns.
    private func outputs(_ x: [Float], _ dy: [Float]) -> [UInt64] {
        let n = x.count
        var sums = [0.0, 0.0], gradientSums = [0.0, 0.0]
        var y = [Float](repeating: 0, count: n), g = [Float](repeating: 0, count: n)
        dae_sum_and_squares(x, n, &sums)
        let total = dae_sum(x, n)
        dae_affine_leaky_relu(x, &y, n, scale, shift, slope, 0)
        dae_activation_gradient_sums(dy, x, n, scale, shift, slope, mean, &gradientSums)
        let gradientTotal = dae_batch_norm_input_gradient(dy, x, &g, n, scale, shift, slope, inputScale, meanDy, mean, a)
        return (sums + [total] + gradientSums + [gradientTotal]).map(\.bitPattern)
            + (y + g).map { UInt64($0.bitPattern) }
    }

    func testPassesMatchTheirDefinitions() {
        forEachKernelBuild {
            for n in Self.counts {
                let x = values(n, seed: UInt64(n)), dy = values(n, seed: UInt64(n) + 100)
                let name = "\(KernelBuild.current.name), \(n) values"
                let magnitude = x.reduce(0.0) { $0 + Double(abs($1)) } + 1e-30
                var sums = [0.0, 0.0]
                dae_sum_and_squares(x, n, &sums)
                XCTAssertEqual(sums[0], x.reduce(0.0) { $0 + Double($1) }, accuracy: 1e-6 * magnitude, name)
                XCTAssertEqual(sums[1], x.reduce(0.0) { $0 + Double($1) * Double($1) }, accuracy: 1e-6 * (sums[1] + 1e-30), name)

                let pre = x.map { Double(scale) * Double($0) + Double(shift) }
                var y = [Float](repeating: .nan, count: n), streamed = y
                dae_affine_leaky_relu(x, &y, n, scale, shift, slope, 0)
                // Each value to a few roundings of its terms (the sum may cancel).
                let terms = x.map { abs(Double(scale) * Double($0)) + abs(Double(shift)) }
                for i in 0..<n {
                    let want = pre[i] > 0 ? pre[i] : pre[i] * Double(slope)
                    XCTAssertEqual(Double(y[i]), want, accuracy: 1e-6 * terms[i], name)
                }
                // Streaming stores, from every alignment: the same values.
                for offset in 0..<min(n, 8) {
                    x.withUnsafeBufferPointer { input in
                        streamed.withUnsafeMutableBufferPointer { output in
                            dae_affine_leaky_relu(input.baseAddress! + offset, output.baseAddress! + offset, n - offset,
                                                  scale, shift, slope, 1)
                        }
                    }
                    XCTAssertEqual(streamed[offset...].map(\.bitPattern), y[offset...].map(\.bitPattern), name)
                }

                let through = (0..<n).map { pre[$0] > 0 ? Double(dy[$0]) : Double(dy[$0]) * Double(slope) }
                var gradientSums = [0.0, 0.0]
                dae_activation_gradient_sums(dy, x, n, scale, shift, slope, mean, &gradientSums)
                let gradientMagnitude = through.reduce(0.0) { $0 + abs($1) } * 4 + 1e-30
                XCTAssertEqual(gradientSums[0], through.reduce(0, +), accuracy: 1e-6 * gradientMagnitude, name)
                let dot = (0..<n).reduce(0.0) { $0 + through[$1] * (Double(x[$1]) - Double(mean)) }
                XCTAssertEqual(gradientSums[1], dot, accuracy: 1e-6 * gradientMagnitude, name)

                var g = [Float](repeating: .nan, count: n)
                let total = dae_batch_norm_input_gradient(dy, x, &g, n, scale, shift, slope, inputScale, meanDy, mean, a)
                let want = (0..<n).map {
                    Double(inputScale) * (through[$0] - Double(meanDy) - (Double(x[$0]) - Double(mean)) * Double(a))
                }
                for i in 0..<n {
                    let size = Double(inputScale) * (abs(through[i]) + abs(Double(meanDy)) + abs(Double(x[i] - mean)) * abs(Double(a)))
                    XCTAssertEqual(Double(g[i]), want[i], accuracy: 1e-6 * size, name)
                }
                XCTAssertEqual(total, want.reduce(0, +), accuracy: 1e-6 * (want.reduce(0) { $0 + abs($1) } + 1e-30), name)
                // The returned sum is exactly the gradient's sum as dae_sum takes it (a bias's gradient).
                XCTAssertEqual(total.bitPattern, dae_sum(g, n).bitPattern, name)
            }
        }
    }

    /// The input gradient may be written over `dy`, with the same result.
    func testInputGradientInPlace() {
        let n = 1000
        let x = values(n, seed: 1), dy = values(n, seed: 2)
        var apart = [Float](repeating: 0, count: n), inPlace = dy
        let one = dae_batch_norm_input_gradient(dy, x, &apart, n, scale, shift, slope, inputScale, meanDy, mean, a)
        let two = inPlace.withUnsafeMutableBufferPointer {
            dae_batch_norm_input_gradient($0.baseAddress, x, $0.baseAddress, n, scale, shift, slope, inputScale, meanDy, mean, a)
        }
        XCTAssertEqual(one.bitPattern, two.bitPattern)
        XCTAssertEqual(apart.map(\.bitPattern), inPlace.map(\.bitPattern))
    }

    /// AVX-512 and AVX2 run the same operations in the same order: the same bits. The baseline
    /// has no FMA, but its plain sums (no product in them) are the same too.
    func testBuildsShareTheirBits() throws {
        try XCTSkipIf(KernelBuild.runnable.count < 2, "this CPU runs only the baseline build")
        for n in Self.counts {
            let x = values(n, seed: UInt64(n) + 7).enumerated().map { $0 % 5 == 0 ? -0.0 : $1 * 1.37 }
            let dy = values(n, seed: UInt64(n) + 8)
            var results: [ISA: [UInt64]] = [:]
            forEachKernelBuild { results[KernelBuild.current] = outputs(x, dy) }
            if let wide = results[.avx512], let avx2 = results[.avx2FMA] { XCTAssertEqual(wide, avx2, "\(n) values") }
            let sum = { (r: [UInt64]) in r[0] }
            let total = { (r: [UInt64]) in r[2] }
            for r in results.values {
                XCTAssertEqual(sum(r), sum(results[.baseline]!), "\(n) values")
                XCTAssertEqual(total(r), total(results[.baseline]!), "\(n) values")
            }
        }
    }
}
