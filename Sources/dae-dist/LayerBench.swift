import DAECore
import Foundation

/// The model's convolutions timed one at a time, as a training step runs them (the batch's
/// shard slices, per-slice GEMMs): what each costs against its arithmetic, and the dae-dist
/// side of `bench/experiments/onednn_convs.cpp`.
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
        let run: Run

        struct Run {
            let forward: (_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, _ slices: [Int], _ scratch: ThreadScratch) -> Void
            let backward: (_ input: UnsafePointer<Float>, _ gradOutput: UnsafePointer<Float>, _ gradInput: UnsafeMutablePointer<Float>?,
                           _ slices: [Int], _ scratch: ThreadScratch) -> Void
        }
    }

    /// Forward and backward (weight, bias and, but for the first layer, input gradients) of
    /// every convolution over `slices`, median of `repeats` after one warm-up.
    static func run(slices: [Int], repeats: Int) -> [Row] {
        let batch = slices.reduce(0, +)
        var rows: [Row] = []
        for subject in subjects() {
            let input = random(batch * subject.inputCount, seed: 1), output = FloatBuffer(count: batch * subject.outputCount)
            let gradOutput = random(batch * subject.outputCount, seed: 2), gradInput = FloatBuffer(count: batch * subject.inputCount)
            let scratch = ThreadScratch()
            let forward = Roofline.medianSeconds(repeats: repeats) {
                subject.run.forward(input.pointer, output.pointer, slices, scratch)
            }
            let backward = Roofline.medianSeconds(repeats: repeats) {
                subject.run.backward(input.pointer, gradOutput.pointer, subject.needsInputGradient ? gradInput.pointer : nil, slices, scratch)
            }
            let passes = subject.needsInputGradient ? 3 : 2
            rows.append(Row(name: subject.name, forwardMs: 1000 * forward, backwardMs: 1000 * backward,
                            flops: 2 * passes * subject.multiplyAdds * batch))
        }
        return rows
    }

    /// The model's convolutions as the table of `Architecture` lists them, named `conv1`,
    /// `conv2`, ... and `deconv1`, ... in forward order.
    private static func subjects() -> [Subject] {
        let architecture = Architecture.standard(latentDim: 2)
        let first = architecture.weightedLayers.first?.key
        let sizes = Dictionary(uniqueKeysWithValues: architecture.parameters.map { ($0.name, $0.count) })
        var convolutions = 0, transposed = 0
        return architecture.layers.compactMap { layer -> Subject? in
            let isConvolution = layer.module.isConvolution, isTransposed = layer.module.isTransposedConvolution
            guard isConvolution || isTransposed, let weightCount = sizes[layer.key + ".weight"], let biasCount = sizes[layer.key + ".bias"] else {
                return nil
            }
            let (weight, bias) = (ParameterBuffers(count: weightCount), ParameterBuffers(count: biasCount))
            let name: String
            let run: Subject.Run
            if isConvolution {
                convolutions += 1
                name = "conv\(convolutions)"
                let conv = Conv2d(layer, weight: weight.parameter, bias: bias.parameter)
                run = Subject.Run(forward: conv.forward(_:output:slices:scratch:),
                                  backward: { conv.backward($0, gradOutput: $1, gradInput: $2, slices: $3, scratch: $4) })
            } else {
                transposed += 1
                name = "deconv\(transposed)"
                let deconv = ConvTranspose2d(layer, weight: weight.parameter, bias: bias.parameter)
                run = Subject.Run(forward: deconv.forward(_:output:slices:scratch:),
                                  backward: { deconv.backward($0, gradOutput: $1, gradInput: $2, slices: $3, scratch: $4) })
            }
            return Subject(name: name, inputCount: layer.input.count, outputCount: layer.output.count,
                           multiplyAdds: Architecture.multiplyAdds(of: layer), needsInputGradient: layer.key != first,
                           parameterBuffers: [weight, bias], run: run)
        }
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
