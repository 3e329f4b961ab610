import DAECore
import DAEData
import Foundation

/// The model in evaluation mode (running BatchNorm statistics, no collectives) over a set
/// of digits, in chunks of the model's batch: losses, reconstructions, latent codes.
public enum Evaluation {
    /// Calls `body(first, count, clean, noisy)` after each chunk's forward pass; the model's
    /// `output` and `latent` hold the chunk's results then.
    public static func forEachChunk(model: Autoencoder, digits: Digits, noise: NoiseGenerator, factor: Float, noiseEpoch: Int,
                                    limit: Int? = nil,
                                    _ body: (Int, Int, UnsafePointer<Float>, UnsafePointer<Float>) -> Void) {
        let total = min(digits.count, limit ?? digits.count)
        let clean = FloatBuffer(count: model.maxBatch * Architecture.imagePixels)
        var start = 0
        while start < total {
            let n = min(model.maxBatch, total - start)
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
        var perImage = [Double](repeating: 0, count: digits.count)
        var total = 0.0
        forEachChunk(model: model, digits: digits, noise: noise, factor: factor, noiseEpoch: noiseEpoch) { start, n, clean, _ in
            let pixels = Architecture.imagePixels
            for i in 0..<n {
                let error = MSELoss.sumOfSquares(model.output.pointer + i * pixels, target: clean + i * pixels, count: pixels)
                perImage[start + i] = error / Double(pixels)
                total += error
            }
        }
        return (total / Double(max(1, digits.count) * Architecture.imagePixels), perImage)
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
