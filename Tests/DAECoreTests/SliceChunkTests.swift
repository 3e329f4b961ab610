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

    /// `forward` then `backward` of a layer `make` builds on `weight` and `bias`, over `slices`,
    /// from seeded random inputs of `inputCount` values and output gradients of `outputCount`.
    private typealias Layer = (forward: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, [Int], ThreadScratch) -> Void,
                               backward: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, [Int], ThreadScratch) -> Void)

    private func run(_ slices: [Int], weights: Int, biases: Int, inputCount: Int, outputCount: Int,
                     make: (Parameter, Parameter) -> Layer) -> Pass {
        let weight = TestParameter(randomValues(weights, seed: 1, scale: 0.1)), bias = TestParameter(randomValues(biases, seed: 2))
        let layer = make(weight.parameter, bias.parameter)
        let x = FloatBuffer(randomValues(inputCount, seed: 3).map(Float.init)), dx = FloatBuffer(count: inputCount)
        let y = FloatBuffer(count: outputCount), dy = FloatBuffer(randomValues(outputCount, seed: 4).map(Float.init))
        let scratch = ThreadScratch()
        layer.forward(x.pointer, y.pointer, slices, scratch)
        layer.backward(x.pointer, dy.pointer, dx.pointer, slices, scratch)
        return Pass(output: y.array, gradInput: dx.array, weightGradient: weight.gradient.array, biasGradient: bias.gradient.array)
    }

    private func checkChunking(batch n: Int, weights: Int, biases: Int, inputCount: Int, outputCount: Int, _ name: String,
                               make: @escaping (Parameter, Parameter) -> Layer) {
        func pass(_ slices: [Int]) -> Pass {
            run(slices, weights: weights, biases: biases, inputCount: inputCount, outputCount: outputCount, make: make)
        }
        compare(pass([n]), pass(Array(repeating: 1, count: n)), name)
    }

    func testConv2dOfAModelSizedSlice() {
        let (n, c, oc, side) = (9, 32, 64, 28)
        checkChunking(batch: n, weights: oc * c * 9, biases: oc, inputCount: n * c * side * side, outputCount: n * oc * 14 * 14,
                      "conv 32 -> 64") { weight, bias in
            let layer = Conv2d(inChannels: c, outChannels: oc, kernel: 3, stride: 2, padding: 1, inputHeight: side, inputWidth: side,
                               weight: weight, bias: bias)
            return ({ layer.forward($0, output: $1, slices: $2, scratch: $3) },
                    { layer.backward($0, gradOutput: $1, gradInput: $2, slices: $3, scratch: $4) })
        }
    }

    func testConvTranspose2dOfAModelSizedSlice() {
        let (n, c, oc, side) = (9, 64, 32, 14)
        checkChunking(batch: n, weights: c * oc * 9, biases: oc, inputCount: n * c * side * side, outputCount: n * oc * 28 * 28,
                      "transposed conv 64 -> 32") { weight, bias in
            let layer = ConvTranspose2d(inChannels: c, outChannels: oc, kernel: 3, stride: 2, padding: 1, outputPadding: 1,
                                        inputHeight: side, inputWidth: side, weight: weight, bias: bias)
            return ({ layer.forward($0, output: $1, slices: $2, scratch: $3) },
                    { layer.backward($0, gradOutput: $1, gradInput: $2, slices: $3, scratch: $4) })
        }
    }
}
