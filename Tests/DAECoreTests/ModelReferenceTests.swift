import DAECore
import XCTest

/// The whole model against PyTorch (fixtures written by `Fixtures/make_reference.py`):
/// training-mode forward, every gradient, BatchNorm running statistics, 3 Adam steps and an
/// eval-mode forward, for latent sizes 2 and 16, to 1e-4 relative error (max |difference|
/// over max |reference| per tensor).
///
/// After the Adam steps the reference is PyTorch in float64, and Adam needs care: it divides
/// each gradient by its own running scale, so an element whose gradient is at float32's
/// rounding level (the biases in front of BatchNorm, whose exact gradient is 0; a weight
/// element whose inputs all but vanish) moves by up to lr in a direction rounding decides, in
/// any float32 implementation, PyTorch's own included. Parameters are therefore held to 1e-4
/// (or to twice the distance float32 runs of PyTorch reach, where they miss 1e-4) on every
/// element whose step-1 gradient is at least 1e-5 of its tensor's largest; the others
/// (asserted to be few) only to Adam's largest possible move, lr per step. Running
/// statistics and the eval output, which those biases shift, are held the same way. The
/// fixture's batch keeps every LeakyReLU input clear of 0 and its Adam a larger eps, so that
/// rounding cannot send two float32 runs down different paths (see make_reference.py).
final class ModelReferenceTests: XCTestCase {
    private let tolerance = 1e-4

    /// Biases of convolutions followed by BatchNorm: BatchNorm subtracts the channel mean, so
    /// their exact gradient is 0 and what either implementation computes is rounding noise.
    private let biasesBeforeBatchNorm: Set<String> = [
        "encoder.encoder.0.bias", "encoder.encoder.3.bias", "encoder.encoder.6.bias",
        "decoder.decoder.3.bias", "decoder.decoder.6.bias",
    ]

    private func loadFixture(latentDim: Int) throws -> SafeTensors {
        try SafeTensors.read(path: TestPaths.fixture("reference_latent\(latentDim).safetensors").path)
    }

    private func assertClose(_ got: TensorView, _ fixture: SafeTensors, _ key: String, tolerance: Double? = nil,
                             file: StaticString = #filePath, line: UInt = #line) throws {
        let want = try fixture.floats(key)
        XCTAssertEqual(got.count, want.count, key, file: file, line: line)
        let error = relativeError(got.array, want)
        XCTAssertLessThan(error, tolerance ?? self.tolerance, "\(key): relative error \(error)", file: file, line: line)
    }

    /// How far from float64 float32 rounding alone takes `<stage>.<key>`: the largest distance
    /// among the fixture's float32 runs from one-ulp-perturbed inputs (`spread.*`, see
    /// make_reference.py), PyTorch's own among them.
    private func float32Spread(_ fixture: SafeTensors, _ stage: String, _ key: String) throws -> Double {
        Double(try fixture.floats("spread.\(stage).\(key)")[0])
    }

    /// `got` against PyTorch float64 (`<stage>64.<key>`): within 1e-4, or within twice the
    /// distance float32 rounding takes it from float64 (`float32Spread`) where that is larger.
    private func assertCloseToFloat64(_ got: TensorView, _ fixture: SafeTensors, _ stage: String, _ key: String,
                                      file: StaticString = #filePath, line: UInt = #line) throws {
        let exact = try fixture.floats("\(stage)64.\(key)")
        let bound = max(tolerance, 2 * (try float32Spread(fixture, stage, key)))
        let error = relativeError(got.array, exact)
        XCTAssertLessThan(error, bound, "\(stage).\(key): relative error \(error) against float64, bound \(bound)", file: file, line: line)
    }

    /// See the type's comment. Against PyTorch float64: elements whose step-1 gradient is at
    /// least 1e-5 of the tensor's largest within 1e-4 of the tensor's scale (or twice
    /// `float32Spread`, measured on the same elements, PyTorch's own run among them, where
    /// that is larger); the rest within Adam's largest possible move, `steps * lr`.
    private func assertParameterAfterAdam(_ got: TensorView, _ fixture: SafeTensors, _ key: String, steps: Int, learningRate: Float,
                                          file: StaticString = #filePath, line: UInt = #line) throws {
        let exact = try fixture.floats("final64." + key)
        let gradient = try fixture.floats("step1.grad." + key)
        let scale = maxAbs(exact), gradientScale = maxAbs(gradient)
        let values = got.array
        var ours = 0.0, worstNoisy = 0.0, noisy = 0
        for i in 0..<values.count {
            let difference = abs(Double(values[i]) - Double(exact[i]))
            if Double(abs(gradient[i])) >= 1e-5 * gradientScale && !biasesBeforeBatchNorm.contains(key) {
                ours = max(ours, difference / scale)
            } else {
                noisy += 1
                worstNoisy = max(worstNoisy, difference)
            }
        }
        // The fixture has no spread for the biases in front of BatchNorm: none of their elements is held to it.
        let spread = biasesBeforeBatchNorm.contains(key) ? 0 : try float32Spread(fixture, "final", key)
        let bound = max(tolerance, 2 * spread)
        XCTAssertLessThan(ours, bound, "final.\(key): relative error \(ours) against float64 (float32 runs up to \(spread))",
                          file: file, line: line)
        XCTAssertLessThanOrEqual(worstNoisy, Double(steps) * Double(learningRate), "final.\(key): rounding-level elements moved more than Adam can", file: file, line: line)
        if !biasesBeforeBatchNorm.contains(key) {
            XCTAssertLessThan(Double(noisy), 0.05 * Double(values.count) + 1, "final.\(key): \(noisy) of \(values.count) elements have rounding-level gradients", file: file, line: line)
        }
    }

    private func makeModel(_ fixture: SafeTensors, latentDim: Int) throws -> (Autoencoder, clean: FloatBuffer) {
        let clean = FloatBuffer(try fixture.floats("input.clean"))
        let batch = clean.count / Architecture.imagePixels
        let model = Autoencoder(latentDim: latentDim, maxBatch: batch)
        for spec in model.parameters.layout.specs {
            try fixture.copyFloats("init." + spec.name, shape: spec.shape, into: model.parameters.value(spec.name).pointer)
        }
        let noisy = try fixture.floats("input.noisy")
        _ = model.input.buffer.update(fromContentsOf: noisy)
        return (model, clean)
    }

    private func checkAgainstPyTorch(latentDim: Int) throws {
        let fixture = try loadFixture(latentDim: latentDim)
        let (model, clean) = try makeModel(fixture, latentDim: latentDim)
        let batch = clean.count / Architecture.imagePixels
        XCTAssertGreaterThanOrEqual(batch, 8)
        let optimizer = Adam(parameterCount: model.parameters.count, eps: 1e-4)  // as make_reference.py's ADAM_EPS
        let step = TrainingStep(model: model, optimizer: optimizer)
        let parameters = model.parameters

        // Step 1, layer by layer.
        try model.forward(batch: batch, training: true)
        let output = TensorView(name: "output", shape: [batch * 784], pointer: model.output.pointer, offset: 0)
        try assertClose(output, fixture, "step1.output")
        let latent = TensorView(name: "latent", shape: [batch * latentDim], pointer: model.latent.pointer, offset: 0)
        try assertClose(latent, fixture, "step1.latent")
        let loss = model.sumOfSquaredErrors(target: clean.pointer, batch: batch) / Double(batch * 784)
        XCTAssertEqual(loss, Double(try fixture.floats("step1.loss")[0]), accuracy: tolerance * loss)
        for spec in model.batchNormState.layout.specs {
            try assertClose(model.batchNormState.value(spec.name), fixture, "step1." + spec.name)
        }
        try model.backward(target: clean.pointer, batch: batch, meanOver: batch * 784)
        parameters.finishGradients()
        for spec in parameters.layout.specs {
            let key = "step1.grad." + spec.name
            if biasesBeforeBatchNorm.contains(spec.name) {
                // Exactly 0 in exact arithmetic: both sides must be noise far below the layer's weight gradient.
                let weightScale = maxAbs(parameters.gradient(spec.name.replacingOccurrences(of: ".bias", with: ".weight")).array)
                XCTAssertLessThan(maxAbs(parameters.gradient(spec.name).array), 1e-4 * weightScale, "\(key) should vanish")
                XCTAssertLessThan(maxAbs(try fixture.floats(key)), 1e-4 * weightScale, "PyTorch's \(key) should vanish")
            } else {
                try assertClose(parameters.gradient(spec.name), fixture, key)
            }
        }
        optimizer.update(parameters: parameters.values.pointer, gradients: parameters.gradients.pointer)

        // Steps 2 and 3 through the training step, then the state after 3 steps.
        let losses = try fixture.floats("losses")
        for t in 1..<3 {
            let loss = try step.run(target: clean.pointer, batch: batch, globalBatch: batch)
            XCTAssertEqual(loss, Double(losses[t]), accuracy: tolerance * loss, "loss of step \(t + 1)")
        }
        XCTAssertEqual(optimizer.step, 3)
        for spec in parameters.layout.specs {
            try assertParameterAfterAdam(parameters.value(spec.name), fixture, spec.name, steps: 3, learningRate: optimizer.learningRate)
        }
        for spec in model.batchNormState.layout.specs {
            try assertCloseToFloat64(model.batchNormState.value(spec.name), fixture, "final", spec.name)
        }
        XCTAssertEqual(model.batchNormState.batchesTracked.array, [Int64](repeating: 3, count: 5))

        try model.forward(batch: batch, training: false)
        try assertCloseToFloat64(output, fixture, "eval", "output")
        XCTAssertEqual(model.batchNormState.batchesTracked.array, [Int64](repeating: 3, count: 5), "eval mode leaves the counters alone")
    }

    func testMatchesPyTorchLatent2() throws { try checkAgainstPyTorch(latentDim: 2) }
    func testMatchesPyTorchLatent16() throws { try checkAgainstPyTorch(latentDim: 16) }

    /// The C kernels' baseline build (no AVX2/FMA: other roundings) is as close to PyTorch.
    func testMatchesPyTorchWithBaselineKernels() throws {
        KernelBuild.force(.baseline)
        defer { KernelBuild.force(nil) }
        try checkAgainstPyTorch(latentDim: 2)
    }

    /// The element-wise loops split channels across threads and BLAS runs two threads: same answers.
    func testMatchesPyTorchWithTwoComputeThreads() throws {
        ComputeThreads.set(2)
        defer { ComputeThreads.set(1) }
        try checkAgainstPyTorch(latentDim: 16)
    }

    /// The fixture's tensors are exactly the model's `state_dict` keys and shapes.
    func testParameterNamesAndShapesMatchPyTorch() throws {
        let fixture = try loadFixture(latentDim: 16)
        let model = Autoencoder(latentDim: 16, maxBatch: 2)
        let fixtureNames = Set(fixture.entries.keys.filter { $0.hasPrefix("init.") }.map { String($0.dropFirst(5)) })
        XCTAssertEqual(Set(model.parameters.layout.specs.map(\.name)), fixtureNames)
        for spec in model.parameters.layout.specs {
            XCTAssertEqual(try fixture.entry("init." + spec.name).shape, spec.shape, spec.name)
        }
        XCTAssertEqual(model.parameters.count, 215_441)  // sum(p.numel() for p in Autoencoder(16).parameters())
    }
}
