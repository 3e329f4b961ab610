import DAECore
import XCTest

/// PyTorch's default initialisation, deterministic from a seed.
final class InitializationTests: XCTestCase {
    func testSameSeedGivesBitIdenticalParameters() {
        let a = Autoencoder(latentDim: 2, maxBatch: 2, seed: 42)
        let b = Autoencoder(latentDim: 2, maxBatch: 2, seed: 42)
        let c = Autoencoder(latentDim: 2, maxBatch: 2, seed: 43)
        XCTAssertEqual(a.parameters.values.array.map(\.bitPattern), b.parameters.values.array.map(\.bitPattern))
        XCTAssertNotEqual(a.parameters.values.array, c.parameters.values.array)
    }

    func testDistributionsAreUniformWithinPyTorchBounds() {
        let model = Autoencoder(latentDim: 16, maxBatch: 2, seed: 7)
        for spec in model.parameters.layout.specs {
            let values = model.parameters.value(spec.name).array
            switch spec.initializer {
            case .constant(let value):
                XCTAssertTrue(values.allSatisfy { $0 == value }, spec.name)
            case .uniform(let bound):
                XCTAssertLessThanOrEqual(maxAbs(values), Double(bound), spec.name)
                guard values.count >= 1000 else { continue }
                let mean = values.reduce(0.0) { $0 + Double($1) } / Double(values.count)
                let std = (values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(values.count)).squareRoot()
                XCTAssertEqual(mean, 0, accuracy: 0.05 * Double(bound), spec.name)
                XCTAssertEqual(std, Double(bound) / 3.0.squareRoot(), accuracy: 0.03 * Double(bound), spec.name)
                XCTAssertGreaterThan(maxAbs(values), 0.99 * Double(bound), spec.name)
            }
        }
        XCTAssertEqual(model.batchNormState.value("decoder.decoder.7.running_var").array, [Float](repeating: 1, count: 32))
        XCTAssertEqual(model.batchNormState.value("encoder.encoder.1.running_mean").array, [Float](repeating: 0, count: 32))
    }

    /// The bounds (1/sqrt(fan_in), with PyTorch's fan_in for ConvTranspose read from weight
    /// dim 1) agree with what PyTorch's own initialisation drew in the fixture.
    func testBoundsAgreeWithPyTorchsInitialisation() throws {
        let fixture = try SafeTensors.read(path: TestPaths.fixture("reference_latent16.safetensors").path)
        for spec in Architecture.standard(latentDim: 16).parameters {
            guard case .uniform(let bound) = spec.initializer else { continue }
            let drawn = maxAbs(try fixture.floats("init." + spec.name))
            XCTAssertLessThanOrEqual(drawn, Double(bound) * (1 + 1e-6), spec.name)
            if spec.count >= 64 { XCTAssertGreaterThan(drawn, 0.9 * Double(bound), spec.name) }
        }
    }
}
