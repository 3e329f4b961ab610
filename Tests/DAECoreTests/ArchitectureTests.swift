import XCTest
import DAECore

/// The model is built from its table alone: the standard table gives DESIGN.md's model, and a
/// different table (other channels, depth and latent size) gives a model whose gradients are
/// right, checked by finite differences.
final class ArchitectureTests: XCTestCase {
    func testStandardTableIsTheDesignModel() {
        let architecture = Architecture.standard(latentDim: 2)
        XCTAssertEqual(architecture.latentDim, 2)
        XCTAssertEqual(architecture.latentLayer.key, "encoder.encoder.10")
        XCTAssertEqual(architecture.batchNorms.map(\.key),
                       ["encoder.encoder.1", "encoder.encoder.4", "encoder.encoder.7", "decoder.decoder.4", "decoder.decoder.7"])
        XCTAssertEqual(architecture.weightedLayers.map(\.key),
                       ["encoder.encoder.0", "encoder.encoder.3", "encoder.encoder.6", "encoder.encoder.10",
                        "decoder.decoder.0", "decoder.decoder.3", "decoder.decoder.6", "decoder.decoder.9"])
        // conv 225,792 + 3,612,672 + 1,806,336; linear 2 x 6,272; transposed the same as the convolutions.
        XCTAssertEqual(architecture.forwardMultiplyAdds, 11_302_144)
        XCTAssertEqual(architecture.trainingFLOPsPerImage, 2 * (3 * 11_302_144 - 225_792))
        XCTAssertEqual(architecture.parameters.first?.shape, [32, 1, 3, 3])
        XCTAssertEqual(architecture.parameters.last?.shape, [1])
        XCTAssertEqual(Architecture.standard(latentDim: 16).parameters.reduce(0) { $0 + $1.count }, 215_441)
    }

    /// Two convolutions of 8 and 16 channels, a 3-wide code with no activation after it, one
    /// transposed convolution fewer.
    static let variant = Architecture(encoder: [
        .conv2d(out: 8, kernel: 3, stride: 1, padding: 1), .batchNorm2d, .leakyReLU,
        .conv2d(out: 16, kernel: 3, stride: 2, padding: 1), .batchNorm2d, .leakyReLU,
        .flatten, .linear(out: 3),
    ], decoder: [
        .linear(out: 16 * 14 * 14), .unflatten(channels: 16, side: 14), .leakyReLU,
        .convTranspose2d(out: 8, kernel: 3, stride: 2, padding: 1, outputPadding: 1), .batchNorm2d, .leakyReLU,
        .convTranspose2d(out: 1, kernel: 3, stride: 1, padding: 1, outputPadding: 0), .sigmoid,
    ])

    func testVariantTableShapesTheModel() {
        let model = Autoencoder(architecture: Self.variant, maxBatch: 2)
        XCTAssertEqual(model.latentDim, 3)
        XCTAssertEqual(model.parameters.layout.specs.map(\.name).first, "encoder.encoder.0.weight")
        XCTAssertEqual(model.parameters.value("decoder.decoder.0.weight").shape, [16 * 14 * 14, 3])
        XCTAssertEqual(model.parameters.value("decoder.decoder.3.weight").shape, [16, 8, 3, 3])
        XCTAssertEqual(model.batchNormState.layout.specs.count, 2 * 3)
        XCTAssertEqual(ModelCheckpoint.tensors(of: model).map(\.name).filter { $0.hasSuffix("num_batches_tracked") },
                       ["encoder.encoder.1.num_batches_tracked", "encoder.encoder.4.num_batches_tracked", "decoder.decoder.4.num_batches_tracked"])
    }

    /// For each layer's parameters, the derivative of the loss along that layer's gradient, by
    /// central differences of the Float model (loss summed in Double), against the gradient's
    /// norm, which it equals only if backward's gradient is right in direction and size. The
    /// gradient's own direction gives the largest derivative, well above the Float forward
    /// passes' noise. Step 1e-4 along the unit direction, within 2% (the worst layer is within
    /// 0.4%; larger steps meet the LeakyReLUs' kinks, smaller ones Float rounding).
    func testVariantModelGradientsMatchFiniteDifferences() throws {
        let batch = 4
        let model = Autoencoder(architecture: Self.variant, maxBatch: batch, seed: 5)
        var random = SplitMix64(seed: 6)
        let pixels = batch * Architecture.imagePixels
        let clean = FloatBuffer(count: pixels)
        for i in 0..<pixels {
            clean[i] = random.nextUnitFloat()
            model.input[i] = min(1, max(0, clean[i] + 0.2 * (random.nextUnitFloat() - 0.5)))
        }
        func loss() throws -> Double {
            try model.forward(batch: batch, training: true)
            return model.sumOfSquaredErrors(target: clean.pointer, batch: batch) / Double(pixels)
        }
        _ = try loss()
        var finished: [Range<Int>] = []
        try model.backward(target: clean.pointer, batch: batch, meanOver: pixels) { finished.append($0) }
        model.parameters.finishGradients()
        let gradient = Array(UnsafeBufferPointer(start: model.parameters.gradients.pointer, count: model.parameters.count))
        // Backward reports every parameter once, last layer first.
        XCTAssertEqual(finished.map(\.count).reduce(0, +), model.parameters.count)
        XCTAssertEqual(finished.first?.upperBound, model.parameters.count)
        XCTAssertEqual(finished.last?.lowerBound, 0)

        let values = model.parameters.values.pointer
        for range in finished {
            let norm = range.reduce(0) { $0 + Double(gradient[$1]) * Double(gradient[$1]) }.squareRoot()
            let direction = range.map { Double(gradient[$0]) / norm }
            let saved = range.map { values[$0] }
            let step = 1e-4
            func shifted(_ sign: Double) throws -> Double {
                for (j, i) in range.enumerated() { values[i] = Float(Double(saved[j]) + sign * step * direction[j]) }
                return try loss()
            }
            let numeric = (try shifted(1) - shifted(-1)) / (2 * step)
            for (j, i) in range.enumerated() { values[i] = saved[j] }
            XCTAssertGreaterThan(norm, 0, "parameters \(range) have no gradient")
            XCTAssertEqual(numeric, norm, accuracy: 0.02 * norm, "parameters \(range)")
        }
    }

    /// The decoder alone, from the latent codes forward made, gives forward's output bit for bit.
    func testDecodeIsTheSecondHalfOfForward() throws {
        let model = Autoencoder(latentDim: 3, maxBatch: 40, seed: 2)
        var random = SplitMix64(seed: 4)
        for i in 0..<(40 * Architecture.imagePixels) { model.input[i] = random.nextUnitFloat() }
        try model.forward(batch: 40, training: false)
        let output = model.output.array
        model.output.fill(0)
        model.decode(batch: 40)
        XCTAssertEqual(model.output.array, output)
    }
}
