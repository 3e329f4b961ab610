import DAECore
import DAEData
import DAETraining
import XCTest

/// The training loop in process, on one rank (`SingleProcessCommunicator`): a run's files, a
/// stop and resume that ends bit-identical to the run that went through, a quiet observer.
final class TrainerTests: XCTestCase {
    private func config(outDir: String) -> TrainingConfig {
        var config = TrainingConfig(dataset: .synthetic(seed: 5, trainCount: 600))
        (config.validationSize, config.globalBatch, config.shards, config.epochs, config.minSteps) = (96, 48, 4, 2, 0)
        (config.seed, config.logEvery, config.outDir) = (5, 0, outDir)
        return config
    }

    private func folder() throws -> String {
        let path = NSTemporaryDirectory() + "trainer-\(UUID().uuidString)"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    private func reporter(_ trainer: Trainer) throws -> RunReporter {
        try RunReporter(config: trainer.config, outDir: trainer.config.outDir!, worldSize: 1, progressBar: false, continuing: true)
    }

    func testARunWritesItsFilesAndAResumedRunEndsBitIdentical() throws {
        let whole = try Trainer(config: config(outDir: try folder()), communicator: SingleProcessCommunicator())
        XCTAssertEqual(try whole.run(observer: try reporter(whole)), .completed)
        XCTAssertEqual(whole.globalStep, 2 * whole.plan.stepsPerEpoch)
        XCTAssertEqual(whole.history.count, 2)
        XCTAssertTrue(whole.history.allSatisfy { $0.train.isFinite && $0.validation.isFinite })
        let out = whole.config.outDir!
        for file in ["config.json", "metrics.jsonl", "summary.json", "loss-curve.png", "checkpoints/best.safetensors", "checkpoints/last.safetensors",
                     "samples/epoch-001.png", "samples/epoch-002.png"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: (out as NSString).appendingPathComponent(file)), file)
        }

        // The same run stopped part-way into its second epoch, then resumed by a new Trainer.
        var first = config(outDir: try folder())
        first.maxSteps = whole.plan.stepsPerEpoch + 3
        let stopped = try Trainer(config: first, communicator: SingleProcessCommunicator())
        XCTAssertEqual(try stopped.run(observer: try reporter(stopped)), .maxSteps)
        let resumed = try Trainer(config: config(outDir: first.outDir!), communicator: SingleProcessCommunicator())
        try resumed.resume(path: RunReporter.lastPath(in: first.outDir!))
        XCTAssertEqual(resumed.position.epoch, 1)
        XCTAssertEqual(resumed.position.stepInEpoch, 3)
        XCTAssertEqual(try resumed.run(observer: try reporter(resumed)), .completed)
        XCTAssertEqual(resumed.globalStep, whole.globalStep)
        XCTAssertEqual(resumed.model.parameters.values.array.map(\.bitPattern), whole.model.parameters.values.array.map(\.bitPattern))
        XCTAssertEqual(resumed.earlyStopping.best, whole.earlyStopping.best)
    }

    func testAQuietRunWritesNothing() throws {
        let out = try folder()
        var quiet = config(outDir: out)
        quiet.epochs = 1
        let trainer = try Trainer(config: quiet, communicator: SingleProcessCommunicator())
        XCTAssertEqual(try trainer.run(observer: QuietRun(outDir: out)), .completed)
        XCTAssertEqual(trainer.history.count, 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }
}
