import DAECore
import DAEData
import Foundation

/// The model in evaluation mode (running BatchNorm statistics, no collectives) over a set
/// of digits, in chunks of whole `Autoencoder.evaluationRun`s: losses, reconstructions,
/// latent codes. An image's numbers depend only on its place in the set, not on the model's
/// batch size or on which rank evaluates which chunk.
public enum Evaluation {
    /// Calls `body(first, count, clean, noisy)` after each chunk's forward pass; the model's
    /// `output` and `latent` hold the chunk's results then.
    public static func forEachChunk(model: Autoencoder, digits: Digits, noise: NoiseGenerator, factor: Float, noiseEpoch: Int,
                                    limit: Int? = nil,
                                    _ body: (Int, Int, UnsafePointer<Float>, UnsafePointer<Float>) -> Void) {
        let total = min(digits.count, limit ?? digits.count)
        let run = Autoencoder.evaluationRun
        precondition(model.maxBatch >= run, "evaluation needs a model for at least \(run) images")
        let chunk = model.maxBatch / run * run
        let clean = FloatBuffer(count: chunk * Architecture.imagePixels)
        var start = 0
        while start < total {
            let n = min(chunk, total - start)
            BatchAssembler.assemble(count: n, digits: digits, row: { start + $0 }, sampleIndex: { digits.sampleIndices[start + $0] },
                                    noise: noise, epoch: noiseEpoch, factor: factor, clean: clean.pointer, noisy: model.input.pointer)
            try? model.forward(batch: n, training: false)  // eval mode makes no collective call and cannot fail
            body(start, n, clean.pointer, model.input.pointer)
            start += n
        }
    }

    /// Mean squared error over all pixels, and each image's own.
    public static func meanSquaredError(model: Autoencoder, digits: Digits, noise: NoiseGenerator, factor: Float, noiseEpoch: Int)
        -> (mse: Double, perImage: [Double]) {
        let errors = sumsOfSquaredErrors(model: model, digits: digits, noise: noise, factor: factor, noiseEpoch: noiseEpoch)
        return (meanSquaredError(ofSums: errors), errors.map { $0 / Double(Architecture.imagePixels) })
    }

    /// Each image's sum of squared errors over its pixels.
    public static func sumsOfSquaredErrors(model: Autoencoder, digits: Digits, noise: NoiseGenerator, factor: Float, noiseEpoch: Int) -> [Double] {
        var errors = [Double](repeating: 0, count: digits.count)
        forEachChunk(model: model, digits: digits, noise: noise, factor: factor, noiseEpoch: noiseEpoch) { start, n, clean, _ in
            let pixels = Architecture.imagePixels
            for i in 0..<n {
                errors[start + i] = MSELoss.sumOfSquares(model.output.pointer + i * pixels, target: clean + i * pixels, count: pixels)
            }
        }
        return errors
    }

    /// The mean squared error over all pixels of images whose sums of squared errors are
    /// `sums`, added in image order.
    public static func meanSquaredError(ofSums sums: [Double]) -> Double {
        var total = 0.0
        for error in sums { total += error }
        return total / Double(max(1, sums.count) * Architecture.imagePixels)
    }

    /// Each image's latent code (noise-free input), row after row: `[count][latentDim]`.
    public static func latentCodes(model: Autoencoder, digits: Digits) -> [Float] {
        var codes: [Float] = []
        codes.reserveCapacity(digits.count * model.latentDim)
        forEachChunk(model: model, digits: digits, noise: NoiseGenerator(seed: 0), factor: 0, noiseEpoch: NoiseGenerator.testEpoch) { _, n, _, _ in
            codes += UnsafeBufferPointer(start: model.latent.pointer, count: n * model.latentDim)
        }
        return codes
    }

    /// Peak signal-to-noise ratio, in dB, of a mean squared error on [0, 1] images.
    public static func psnr(_ mse: Double) -> Double { 10 * log10(1 / max(mse, 1e-12)) }

    /// Originals, noisy inputs and reconstructions of the first `count` digits, `[count][784]` each.
    public static func reconstructions(model: Autoencoder, digits: Digits, noise: NoiseGenerator, factor: Float, count: Int)
        -> (original: [Float], noisy: [Float], output: [Float]) {
        var original = [Float](), noisy = [Float](), output = [Float]()
        forEachChunk(model: model, digits: digits, noise: noise, factor: factor, noiseEpoch: NoiseGenerator.testEpoch, limit: count) { _, n, clean, input in
            original += UnsafeBufferPointer(start: clean, count: n * Architecture.imagePixels)
            noisy += UnsafeBufferPointer(start: input, count: n * Architecture.imagePixels)
            output += UnsafeBufferPointer(start: model.output.pointer, count: n * Architecture.imagePixels)
        }
        return (original, noisy, output)
    }
}
