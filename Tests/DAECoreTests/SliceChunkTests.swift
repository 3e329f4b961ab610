import DAECore
import XCTest

/// A shard slice whose im2col is larger than one column buffer is unfolded, multiplied and
/// folded a few images at a time (`Im2col.forEachChunk`), its weight products added up
/// chunk by chunk. The model's halving layers on a slice of 9 images (3 chunks for the
/// 28 x 28 ones) must give what the same images give as 9 slices of one image (one chunk
/// each): forward and input gradient to Float rounding (OpenBLAS's kernels round a column by
/// where it falls in the product), weight and bias gradients likewise.
final class SliceChunkTests: XCTestCase {
    private struct Pass {
        let output: [Float], gradInput: [Float], weightGradient: [Float], biasGradient: [Float]
    }

    private func compare(_ chunked: Pass, _ unchunked: Pass, _ name: String) {
        for (label, a, b) in [("output", chunked.output, unchunked.output), ("input gradient", chunked.gradInput, unchunked.gradInput),
                              ("weight gradient", chunked.weightGradient, unchunked.weightGradient),
                              ("bias gradient", chunked.biasGradient, unchunked.biasGradient)] {
            XCTAssertEqual(a.count, b.count)
            let scale = b.map { abs($0) }.max() ?? 1
            XCTAssertGreaterThan(scale, 0, "\(name) \(label) is all zeros")
            let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThan(worst, 1e-5 * scale, "\(name) \(label)")
        }
    }

    func testConv2dOfAModelSizedSlice() {
        let (n, c, oc, side) = (9, 32, 64, 28)
        func run(_ slices: [Int]) -> Pass {
            let weight = TestParameter(randomValues(oc * c * 9, seed: 1, scale: 0.1)), bias = TestParameter(randomValues(oc, seed: 2))
            let layer = Conv2d(inChannels: c, outChannels: oc, kernel: 3, stride: 2, padding: 1, inputHeight: side, inputWidth: side,
                               weight: weight.parameter, bias: bias.parameter)
            let out = layer.outputHeight * layer.outputWidth
            let x = FloatBuffer(randomValues(n * c * side * side, seed: 3).map(Float.init))
            let y = FloatBuffer(count: n * oc * out), dx = FloatBuffer(count: x.count)
            let dy = FloatBuffer(randomValues(y.count, seed: 4).map(Float.init))
            let scratch = ThreadScratch()
            layer.forward(x.pointer, output: y.pointer, slices: slices, scratch: scratch)
            layer.backward(x.pointer, gradOutput: dy.pointer, gradInput: dx.pointer, slices: slices, scratch: scratch)
            return Pass(output: y.array, gradInput: dx.array, weightGradient: weight.gradient.array, biasGradient: bias.gradient.array)
        }
        compare(run([n]), run(Array(repeating: 1, count: n)), "conv 32 -> 64")
    }

    func testConvTranspose2dOfAModelSizedSlice() {
        let (n, c, oc, side) = (9, 64, 32, 14)
        func run(_ slices: [Int]) -> Pass {
            let weight = TestParameter(randomValues(c * oc * 9, seed: 5, scale: 0.1)), bias = TestParameter(randomValues(oc, seed: 6))
            let layer = ConvTranspose2d(inChannels: c, outChannels: oc, kernel: 3, stride: 2, padding: 1, outputPadding: 1,
                                        inputHeight: side, inputWidth: side, weight: weight.parameter, bias: bias.parameter)
            let out = layer.outputHeight * layer.outputWidth
            let x = FloatBuffer(randomValues(n * c * side * side, seed: 7).map(Float.init))
            let y = FloatBuffer(count: n * oc * out), dx = FloatBuffer(count: x.count)
            let dy = FloatBuffer(randomValues(y.count, seed: 8).map(Float.init))
            let scratch = ThreadScratch()
            layer.forward(x.pointer, output: y.pointer, slices: slices, scratch: scratch)
            layer.backward(x.pointer, gradOutput: dy.pointer, gradInput: dx.pointer, slices: slices, scratch: scratch)
            return Pass(output: y.array, gradInput: dx.array, weightGradient: weight.gradient.array, biasGradient: bias.gradient.array)
        }
        compare(run([n]), run(Array(repeating: 1, count: n)), "transposed conv 64 -> 32")
    }
}
