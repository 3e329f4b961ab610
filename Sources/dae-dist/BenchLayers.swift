import DAECore
import Foundation

/// The model's convolutions timed one at a time, as a training step runs them (the batch's
/// shard slices, per-slice GEMMs): what each costs against its arithmetic, and the dae-dist
/// side of `bench/onednn_convs.cpp`.
enum LayerBench {
    struct Row {
        let name: String
        let forwardMs: Double
        let backwardMs: Double
        let flops: Int
    }

    /// One of the model's (transposed) convolutions, with random inputs and gradients.
    private struct Subject {
        let name: String
        let inputCount: Int, outputCount: Int
        /// Multiply-adds of one image's forward pass.
        let multiplyAdds: Int
        let needsInputGradient: Bool
        /// The buffers behind the layer's parameters, alive as long as the subject.
        let parameterBuffers: [AnyObject]
        let forward: (_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, _ segments: [Int], _ scratch: ThreadScratch) -> Void
        let backward: (_ input: UnsafePointer<Float>, _ gradOutput: UnsafePointer<Float>, _ gradInput: UnsafeMutablePointer<Float>?,
                       _ segments: [Int], _ scratch: ThreadScratch) -> Void
    }

    /// Forward and backward (weight, bias and, but for the first layer, input gradients) of
    /// every convolution over `segments`, median of `repeats` after one warm-up.
    static func run(segments: [Int], repeats: Int) -> [Row] {
        let batch = segments.reduce(0, +)
        var rows: [Row] = []
        for subject in subjects() {
            let input = random(batch * subject.inputCount, seed: 1), output = FloatBuffer(count: batch * subject.outputCount)
            let gradOutput = random(batch * subject.outputCount, seed: 2), gradInput = FloatBuffer(count: batch * subject.inputCount)
            let scratch = ThreadScratch()
            let forward = Roofline.medianSeconds(repeats: repeats) {
                subject.forward(input.pointer, output.pointer, segments, scratch)
            }
            let backward = Roofline.medianSeconds(repeats: repeats) {
                subject.backward(input.pointer, gradOutput.pointer, subject.needsInputGradient ? gradInput.pointer : nil, segments, scratch)
            }
            let passes = subject.needsInputGradient ? 3 : 2
            rows.append(Row(name: subject.name, forwardMs: 1000 * forward, backwardMs: 1000 * backward,
                            flops: 2 * passes * subject.multiplyAdds * batch))
        }
        return rows
    }

    private static func subjects() -> [Subject] {
        func conv(_ name: String, _ inC: Int, _ outC: Int, stride: Int, side: Int, inputGradient: Bool) -> Subject {
            let (weight, bias) = (ParameterBuffers(count: outC * inC * 9), ParameterBuffers(count: outC))
            let layer = Conv2d(inChannels: inC, outChannels: outC, kernel: 3, stride: stride, padding: 1, inputHeight: side, inputWidth: side,
                               weight: weight.parameter, bias: bias.parameter)
            let outSide = layer.outputHeight
            return Subject(name: name, inputCount: inC * side * side, outputCount: outC * outSide * outSide,
                           multiplyAdds: outC * inC * 9 * outSide * outSide, needsInputGradient: inputGradient, parameterBuffers: [weight, bias],
                           forward: { layer.forward($0, output: $1, segments: $2, scratch: $3) },
                           backward: { layer.backward($0, gradOutput: $1, gradInput: $2, segments: $3, scratch: $4) })
        }
        func deconv(_ name: String, _ inC: Int, _ outC: Int, stride: Int, outputPadding: Int, side: Int) -> Subject {
            let (weight, bias) = (ParameterBuffers(count: inC * outC * 9), ParameterBuffers(count: outC))
            let layer = ConvTranspose2d(inChannels: inC, outChannels: outC, kernel: 3, stride: stride, padding: 1, outputPadding: outputPadding,
                                        inputHeight: side, inputWidth: side, weight: weight.parameter, bias: bias.parameter)
            let outSide = layer.outputHeight
            return Subject(name: name, inputCount: inC * side * side, outputCount: outC * outSide * outSide,
                           multiplyAdds: inC * outC * 9 * side * side, needsInputGradient: true, parameterBuffers: [weight, bias],
                           forward: { layer.forward($0, output: $1, segments: $2, scratch: $3) },
                           backward: { layer.backward($0, gradOutput: $1, gradInput: $2, segments: $3, scratch: $4) })
        }
        return [
            conv("conv1", 1, 32, stride: 1, side: 28, inputGradient: false),
            conv("conv2", 32, 64, stride: 2, side: 28, inputGradient: true),
            conv("conv3", 64, 64, stride: 2, side: 14, inputGradient: true),
            deconv("deconv1", 64, 64, stride: 2, outputPadding: 1, side: 7),
            deconv("deconv2", 64, 32, stride: 2, outputPadding: 1, side: 14),
            deconv("deconv3", 32, 1, stride: 1, outputPadding: 0, side: 28),
        ]
    }

    /// A parameter of `count` small random values with its own gradient buffers.
    private final class ParameterBuffers {
        let value: FloatBuffer, gradient: FloatBuffer, sum: DoubleBuffer

        init(count: Int) {
            (value, gradient, sum) = (LayerBench.random(count, seed: UInt64(count)), FloatBuffer(count: count), DoubleBuffer(count: count))
        }

        var parameter: Parameter {
            Parameter(value: value.pointer, gradient: gradient.pointer, gradientSum: sum.pointer, count: value.count)
        }
    }

    private static func random(_ count: Int, seed: UInt64) -> FloatBuffer {
        var rng = SplitMix64(seed: seed)
        let buffer = FloatBuffer(count: count)
        for i in 0..<count { buffer[i] = rng.nextUnitFloat() - 0.5 }
        return buffer
    }
}
