import DAECore
import Foundation
import XCTest

/// Every checkpoint records its architecture, loading rebuilds the model from it, files that
/// record none load as the standard model, and a recorded table that cannot be built is an
/// error naming what is wrong, never a trap or an unbounded allocation.
final class ArchitectureMetadataTests: XCTestCase {
    private func temporaryFile() -> String {
        let path = NSTemporaryDirectory() + "architecture-\(UUID().uuidString).safetensors"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testTheTextRoundTrips() throws {
        for architecture in [Architecture.standard(latentDim: 2), .standard(latentDim: 16), ArchitectureTests.variant] {
            XCTAssertEqual(try Architecture(metadata: architecture.metadata), architecture)
        }
        XCTAssertEqual(Architecture.standard(latentDim: 2).metadata[Architecture.encoderKey],
                       "conv2d 32 3 1 1, batchnorm2d, leakyrelu, conv2d 64 3 2 1, batchnorm2d, leakyrelu, conv2d 64 3 2 1, batchnorm2d, leakyrelu, flatten, linear 2, leakyrelu")
        XCTAssertNil(try Architecture(metadata: ["latent_dim": "2"]))
    }

    func testACheckpointOfAnotherArchitectureLoadsAsThatModel() throws {
        let model = Autoencoder(architecture: ArchitectureTests.variant, maxBatch: 4, seed: 7)
        let path = temporaryFile()
        try ModelCheckpoint.save(model, to: path)
        let loaded = try ModelCheckpoint.loadModel(path: path, maxBatch: 4)
        XCTAssertEqual(loaded.architecture, ArchitectureTests.variant)
        XCTAssertEqual(loaded.parameters.values.array, model.parameters.values.array)
        for i in 0..<(4 * Architecture.imagePixels) { (model.input[i], loaded.input[i]) = (Float(i % 7) / 7, Float(i % 7) / 7) }
        try model.forward(batch: 4, training: false)
        try loaded.forward(batch: 4, training: false)
        XCTAssertEqual(loaded.output.array, model.output.array)
    }

    func testACheckpointWithoutTheRecordLoadsAsTheStandardModel() throws {
        let model = Autoencoder(latentDim: 5, maxBatch: 1, seed: 3)
        let path = temporaryFile()
        try SafeTensors.encode(ModelCheckpoint.tensors(of: model), metadata: [:]).write(to: URL(fileURLWithPath: path))
        let loaded = try ModelCheckpoint.loadModel(path: path, maxBatch: 1)
        XCTAssertEqual(loaded.architecture, .standard(latentDim: 5))
        XCTAssertEqual(loaded.parameters.values.array, model.parameters.values.array)
    }

    func testRecordsThatCannotBeBuiltAreErrors() {
        let standard = Architecture.standard(latentDim: 2).metadata
        let decoder = standard[Architecture.decoderKey]!
        let cases: [(encoder: String?, decoder: String?, says: String)] = [
            ("conv2d 32 3 1 1, linear 2", decoder, "cannot follow"),
            ("flatten, linear 2", "linear 784, unflatten 1 28, sigmoid, conv2d 4 3 1 1", "must end with the image's shape"),
            ("conv2d 4096 7 1 3, conv2d 4096 7 1 3, flatten, linear 2", decoder, "values per image"),
            ("flatten, linear 9999999", decoder, "needs 1 to"),
            ("flatten, linear 99999999", decoder, "not a module"),
            ("flatten, linear 1048576, linear 1048576", decoder, "parameters"),
            ("flatten, linear 2, teleport", decoder, "not a module"),
            ("conv2d 32 3 9 1, flatten, linear 2", decoder, "stride 1-4"),
            ("conv2d 1 3 2 1, flatten, leakyrelu", decoder, "latent code made by a Linear"),
            (String(repeating: "leakyrelu, ", count: 300) + "flatten, linear 2", decoder, "more than 256"),
            ("", decoder, "empty"),
            (standard[Architecture.encoderKey], nil, "only one of"),
        ]
        for (encoder, decoder, says) in cases {
            var metadata: [String: String] = [:]
            metadata[Architecture.encoderKey] = encoder
            metadata[Architecture.decoderKey] = decoder
            XCTAssertThrowsError(try Architecture(metadata: metadata), "\(metadata)") { error in
                XCTAssertTrue("\(error)".contains(says), "\(metadata): \(error)")
            }
        }
    }
}
