import DAEPictures
import Foundation
import XCTest

/// What the model is for, end to end: `anomaly` (a model trained on some digits scores the
/// test set, and every file it promises is there and sound) and `probe`.
final class ModelUsesTests: XCTestCase {
    func testAnomalyScoresTheTestSetAgainstTheCheckpointsDigits() throws {
        let run = temporaryDirectory(), out = temporaryDirectory()
        let trained = try runDirect(["train"] + TrainRuns.small + ["--digits", "0,1,2,3,4,5,6,8,9", "--epochs", "1", "--out-dir", run])
        XCTAssertEqual(trained.status, 0, trained.output)
        let checkpoint = run + "/checkpoints/best.safetensors"
        let result = try runDirect(["anomaly", "--checkpoint", checkpoint, "--dataset", "synthetic", "--synthetic-size", "1400",
                                    "--output-dir", out])
        XCTAssertEqual(result.status, 0, result.output)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/anomaly.json"))) as? [String: Any])
        XCTAssertEqual(report["normal_digits"] as? [Int], [0, 1, 2, 3, 4, 5, 6, 8, 9], "read from the checkpoint")
        XCTAssertEqual(report["score"] as? String, "correlation", "the default score, and the report says which")
        let images = try XCTUnwrap(report["images"] as? Int), anomalous = try XCTUnwrap(report["anomalous"] as? Int)
        XCTAssertEqual(images, 233)  // the synthetic test file: a sixth of 1400
        XCTAssertGreaterThan(anomalous, 0)
        for key in ["roc_auc", "average_precision"] {
            let value = try XCTUnwrap(report[key] as? Double, key)
            XCTAssertTrue((0...1).contains(value), "\(key) \(value)")
        }
        XCTAssertEqual((report["per_digit"] as? [String: Any])?.keys.sorted(), ["7"])
        let threshold = try XCTUnwrap(report["threshold"] as? [String: Any])
        XCTAssertEqual(threshold["validation_percentile"] as? Double, 95)
        XCTAssertGreaterThan(threshold["validation_images"] as? Int ?? 0, 0)

        let csv = try String(contentsOfFile: out + "/scores.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.first, "index,label,score,anomalous")
        XCTAssertEqual(csv.count, images + 1)
        XCTAssertEqual(csv.dropFirst().filter { $0.hasSuffix(",1") }.count, anomalous)
        let histogram = try PNGDecoder.decode(Data(contentsOf: URL(fileURLWithPath: out + "/anomaly-histogram.png")))
        XCTAssertEqual(histogram.width, 720)
        let top = try PNGDecoder.decode(Data(contentsOf: URL(fileURLWithPath: out + "/top-anomalies.png")))
        XCTAssertGreaterThan(top.width, top.height, "20 images, input over reconstruction")

        // --score mse: the plain error, another ranking of the same images, said in the report.
        let mseOut = temporaryDirectory()
        let mse = try runDirect(["anomaly", "--checkpoint", checkpoint, "--dataset", "synthetic", "--synthetic-size", "1400",
                                 "--score", "mse", "--output-dir", mseOut])
        XCTAssertEqual(mse.status, 0, mse.output)
        let mseReport = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: mseOut + "/anomaly.json"))) as? [String: Any])
        XCTAssertEqual(mseReport["score"] as? String, "mse")
        XCTAssertNotEqual(try String(contentsOfFile: mseOut + "/scores.csv", encoding: .utf8), csv.joined(separator: "\n") + "\n")

        let everything = temporaryDirectory()
        XCTAssertEqual(try runDirect(["train"] + TrainRuns.small + ["--max-steps", "2", "--out-dir", everything]).status, 0)
        let refused = try runDirect(["anomaly", "--checkpoint", everything + "/checkpoints/last.safetensors", "--dataset", "synthetic"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.output.contains("--normal-digits"), refused.output)
    }

    /// `dae-dist probe`: the latent code's and the raw pixels' accuracies, on a model's test set.
    func testProbeReportsLatentAndPixelAccuracies() throws {
        let run = temporaryDirectory()
        XCTAssertEqual(try runDirect(["train"] + TrainRuns.small + ["--epochs", "1", "--latent-dim", "8", "--out-dir", run]).status, 0)
        let result = try runDirect(["probe", "--checkpoint", run + "/checkpoints/best.safetensors", "--dataset", "synthetic",
                                    "--synthetic-size", "1400", "--k", "3"])
        XCTAssertEqual(result.status, 0, result.output)
        let line = try XCTUnwrap(result.output.split(separator: "\n").first { $0.hasPrefix("{") })
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        XCTAssertEqual(report["train_images"] as? Int, 1200)
        XCTAssertEqual(report["latent_dim"] as? Int, 8)
        let pixels = try XCTUnwrap(report["pixels"] as? [String: Any])
        for (name, value) in [("knn", report["knn_accuracy"]), ("linear", report["linear_accuracy"]),
                              ("pixels knn", pixels["knn_accuracy"]), ("pixels linear", pixels["linear_accuracy"])] {
            let accuracy = try XCTUnwrap(value as? Double, name)
            XCTAssertTrue((0...1).contains(accuracy), "\(name) \(accuracy)")
        }
        XCTAssertGreaterThan(pixels["knn_accuracy"] as? Double ?? 0, 0.5, "synthetic digits are easy from their pixels")
    }

    /// `encode` plots a wide latent by its principal components; `manifold` decodes a grid.
    func testEncodeAndManifoldDrawTheLatentSpace() throws {
        let run = temporaryDirectory(), out = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        XCTAssertEqual(try runDirect(["train"] + TrainRuns.small + ["--epochs", "1", "--latent-dim", "8", "--out-dir", run]).status, 0)
        let checkpoint = run + "/checkpoints/best.safetensors"
        let encoded = try runDirect(["encode", "--checkpoint", checkpoint, "--dataset", "synthetic", "--output", out + "/z.csv"])
        XCTAssertEqual(encoded.status, 0, encoded.output)
        XCTAssertTrue(encoded.output.contains("(PC1, PC2)"), encoded.output)
        XCTAssertEqual(try PNGDecoder.decode(Data(contentsOf: URL(fileURLWithPath: out + "/z.png"))).width, 640)
        let drawn = try runDirect(["manifold", "--checkpoint", checkpoint, "--dataset", "synthetic", "--size", "6", "--output", out + "/m.png"])
        XCTAssertEqual(drawn.status, 0, drawn.output)
        let grid = try PNGDecoder.decode(Data(contentsOf: URL(fileURLWithPath: out + "/m.png")))
        XCTAssertEqual(grid.width, 6 * (28 * 2 + 4) + 4)  // 6 digits at scale 2, 4-pixel gaps
        XCTAssertEqual(grid.height, grid.width)
    }

    /// `train --probe-every 1` adds the latent code's kNN accuracy to every validation line;
    /// without it the lines have none.
    func testProbeEveryAddsKNNAccuracyToValidations() throws {
        func validations(_ extra: [String]) throws -> [[String: Any]] {
            let run = temporaryDirectory()
            XCTAssertEqual(try runDirect(["train"] + TrainRuns.small + ["--epochs", "2"] + extra + ["--out-dir", run]).status, 0)
            return try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
                .compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                .filter { $0["event"] as? String == "validation" }
        }
        let probed = try validations(["--probe-every", "1"])
        XCTAssertEqual(probed.count, 2)
        for line in probed { XCTAssertTrue((0...1).contains(line["knn_accuracy"] as? Double ?? -1), "\(line)") }
        XCTAssertTrue(try validations([]).allSatisfy { $0["knn_accuracy"] == nil })
    }
}
