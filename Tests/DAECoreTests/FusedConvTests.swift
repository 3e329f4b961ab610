import DAECore
import XCTest

/// The halving convolutions' fused forward product (packing its columns from the input into
/// its own AVX-512 micro-kernel, halving_conv.c, where the AVX-512 build runs): against the
/// convolution's definition, in every build the CPU runs, and the same bits however a batch
/// is cut into shard slices (each output value is one sum over its k in order). Their fused
/// weight gradients are checked against finite differences in `GradientCheckTests`, and at
/// the model's sizes here; their adjoint product (ahead of col2im) likewise.
final class FusedConvTests: XCTestCase {
    override func tearDown() { KernelBuild.force(nil) }

    /// (input channels, output channels, input side): the model's two halving convolutions,
    /// one with a channel group of 32 and a remainder (40), one narrow and small.
    static let shapes = [(32, 64, 28), (64, 64, 14), (40, 16, 10), (3, 8, 6)]

    /// The weight and bias every test here uses, for `rows` outputs of `channels` inputs.
    private func parameters(channels: Int, rows: Int) -> (weight: [Double], bias: [Double]) {
        (randomValues(rows * channels * 9, seed: 5, scale: 0.2), randomValues(rows, seed: 6))
    }

    private func convolve(_ x: FloatBuffer, channels: Int, rows: Int, side: Int, slices: [Int]) -> [Float] {
        let batch = slices.reduce(0, +)
        let (w, b) = parameters(channels: channels, rows: rows)
        let weight = TestParameter(w), bias = TestParameter(b)
        let layer = Conv2d(inChannels: channels, outChannels: rows, kernel: 3, stride: 2, padding: 1,
                           inputHeight: side, inputWidth: side, weight: weight.parameter, bias: bias.parameter)
        let y = FloatBuffer(count: rows * batch * layer.outputHeight * layer.outputWidth)
        layer.forward(x.pointer, output: y.pointer, slices: slices, scratch: ThreadScratch())
        return y.array
    }

    /// The definition, in Double, channel-major.
    private func reference(_ x: [Float], channels: Int, rows: Int, side: Int, batch: Int) -> [Double] {
        let (w, b) = parameters(channels: channels, rows: rows)
        let out = side / 2
        var y = [Double](repeating: 0, count: rows * batch * out * out)
        for r in 0..<rows {
            for n in 0..<batch {
                for oy in 0..<out {
                    for ox in 0..<out {
                        var sum = b[r]
                        for c in 0..<channels {
                            for ky in 0..<3 {
                                for kx in 0..<3 {
                                    let iy = 2 * oy + ky - 1, ix = 2 * ox + kx - 1
                                    guard iy >= 0, iy < side, ix >= 0, ix < side else { continue }
                                    sum += w[((r * channels + c) * 3 + ky) * 3 + kx] * Double(x[((c * batch + n) * side + iy) * side + ix])
                                }
                            }
                        }
                        y[((r * batch + n) * out + oy) * out + ox] = sum
                    }
                }
            }
        }
        return y
    }

    func testForwardMatchesTheDefinitionInEveryBuild() {
        for (channels, rows, side) in Self.shapes {
            let batch = 3
            let x = FloatBuffer(randomValues(channels * batch * side * side, seed: 7).map(Float.init))
            let expected = reference(x.array, channels: channels, rows: rows, side: side, batch: batch)
            let scale = expected.map { abs($0) }.max() ?? 1
            forEachKernelBuild {
                let y = convolve(x, channels: channels, rows: rows, side: side, slices: [2, 1])
                let worst = zip(y, expected).map { abs(Double($0) - $1) }.max() ?? 0
                XCTAssertLessThan(worst, 1e-5 * scale, "\(channels) -> \(rows) at \(side), \(KernelBuild.name)")
            }
        }
    }

    func testSlicingDoesNotChangeABit() throws {
        try XCTSkipUnless(KernelBuild.runnable.contains(.avx512), "this CPU (\(CPU.model)) has no AVX-512: the fused product does not run")
        KernelBuild.force(.avx512)
        for (channels, rows, side) in Self.shapes {
            let x = FloatBuffer(randomValues(channels * 5 * side * side, seed: 8).map(Float.init))
            let whole = convolve(x, channels: channels, rows: rows, side: side, slices: [5]).map(\.bitPattern)
            for slices in [[1, 1, 1, 1, 1], [2, 3], [4, 1]] {
                let sliced = convolve(x, channels: channels, rows: rows, side: side, slices: slices).map(\.bitPattern)
                XCTAssertEqual(sliced, whole, "\(channels) -> \(rows) at \(side), slices \(slices)")
            }
        }
    }

    /// A model-sized weight gradient (conv2: 32 -> 64 at 28 x 28, two slices of 5 and 4
    /// images, one of whose pixel counts is not a multiple of the kernel's chunk) against the
    /// definition in Double, in every build.
    func testWeightGradientMatchesTheDefinitionInEveryBuild() {
        let (channels, rows, side, slices) = (32, 64, 28, [5, 4])
        let batch = slices.reduce(0, +), out = side / 2
        let x = FloatBuffer(randomValues(channels * batch * side * side, seed: 9).map(Float.init))
        let dy = FloatBuffer(randomValues(rows * batch * out * out, seed: 10).map(Float.init))
        var expected = [Double](repeating: 0, count: rows * channels * 9)
        for r in 0..<rows {
            for c in 0..<channels {
                for ky in 0..<3 {
                    for kx in 0..<3 {
                        var sum = 0.0
                        for n in 0..<batch {
                            for oy in 0..<out {
                                for ox in 0..<out {
                                    let iy = 2 * oy + ky - 1, ix = 2 * ox + kx - 1
                                    guard iy >= 0, iy < side, ix >= 0, ix < side else { continue }
                                    sum += Double(dy[((r * batch + n) * out + oy) * out + ox]) * Double(x[((c * batch + n) * side + iy) * side + ix])
                                }
                            }
                        }
                        expected[((r * channels + c) * 3 + ky) * 3 + kx] = sum
                    }
                }
            }
        }
        let scale = expected.map { abs($0) }.max() ?? 1
        forEachKernelBuild {
            let (w, b) = parameters(channels: channels, rows: rows)
            let weight = TestParameter(w), bias = TestParameter(b)
            let layer = Conv2d(inChannels: channels, outChannels: rows, kernel: 3, stride: 2, padding: 1, inputHeight: side,
                               inputWidth: side, weight: weight.parameter, bias: bias.parameter)
            layer.backward(x.pointer, gradOutput: dy.pointer, gradInput: nil, slices: slices, scratch: ThreadScratch())
            let worst = zip(weight.gradient.array, expected).map { abs(Double($0) - $1) }.max() ?? 0
            XCTAssertLessThan(worst, 1e-5 * scale, KernelBuild.name)
        }
    }

    /// (input channels, output channels, input side) of transposed convolutions whose
    /// forward is the adjoint product: the model's two halving ones (deconv1, deconv2), and
    /// one whose pixel count leaves a partial block of 32.
    static let adjointShapes = [(64, 64, 7), (64, 32, 14), (16, 8, 5)]

    private func transposedForward(_ x: FloatBuffer, channels: Int, rows: Int, side: Int, slices: [Int]) -> [Float] {
        let batch = slices.reduce(0, +)
        let weight = TestParameter(randomValues(channels * rows * 9, seed: 11, scale: 0.2))
        let bias = TestParameter(randomValues(rows, seed: 12))
        let layer = ConvTranspose2d(inChannels: channels, outChannels: rows, kernel: 3, stride: 2, padding: 1, outputPadding: 1,
                                    inputHeight: side, inputWidth: side, weight: weight.parameter, bias: bias.parameter)
        let y = FloatBuffer(count: rows * batch * 4 * side * side)
        layer.forward(x.pointer, output: y.pointer, slices: slices, scratch: ThreadScratch())
        return y.array
    }

    /// The adjoint product (here a ConvTranspose2d's forward; a Conv2d's input gradient is
    /// the same call) against the definition in Double, in every build, and the same bits
    /// however the batch is sliced.
    func testAdjointProductMatchesTheDefinitionInEveryBuild() {
        for (channels, rows, side) in Self.adjointShapes {
            let slices = [2, 3], batch = 5, out = 2 * side
            let values = randomValues(batch * channels * side * side, seed: 13)
            let x = FloatBuffer(toChannelMajor(values, batch: batch, channels: channels, plane: side * side))
            let reference = Reference.convTranspose2d(batch: batch, inChannels: channels, outChannels: rows, side: side, kernel: 3,
                                                      stride: 2, padding: 1, outputPadding: 1)
            let z = values + randomValues(channels * rows * 9, seed: 11, scale: 0.2) + randomValues(rows, seed: 12)
            let expected = reference.forward(z)
            let scale = expected.map { abs($0) }.max() ?? 1
            forEachKernelBuild {
                let y = FloatBuffer(transposedForward(x, channels: channels, rows: rows, side: side, slices: slices))
                let got = fromChannelMajor(y.pointer, batch: batch, channels: rows, plane: out * out)
                let worst = zip(got, expected).map { abs($0 - $1) }.max() ?? 0
                XCTAssertLessThan(worst, 1e-5 * scale, "\(channels) -> \(rows) at \(side), \(KernelBuild.name)")
                let whole = transposedForward(x, channels: channels, rows: rows, side: side, slices: [batch]).map(\.bitPattern)
                for other in [[1, 1, 1, 1, 1], [4, 1]] {
                    let sliced = transposedForward(x, channels: channels, rows: rows, side: side, slices: other).map(\.bitPattern)
                    XCTAssertEqual(sliced, whole, "\(channels) -> \(rows) at \(side), slices \(other), \(KernelBuild.name)")
                }
            }
        }
    }
}
