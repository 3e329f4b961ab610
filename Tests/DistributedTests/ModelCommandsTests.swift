import DAECore
import Foundation
import XCTest

/// `evaluate`, `encode` and `denoise` on a freshly trained checkpoint, and the checkpoint in
/// PyTorch (skipped, saying so, without torch or ../shared).
final class ModelCommandsTests: XCTestCase {
    private static let mini = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data/mnist-mini").path

    private func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        try Subprocess.run(executable, arguments)
    }

    func testEvaluateEncodeDenoiseAndPyTorchAgree() throws {
        guard FileManager.default.fileExists(atPath: Self.mini) else { throw XCTSkip("\(Self.mini) is absent; skipping") }
        let out = NSTemporaryDirectory() + "dae-model-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let binary = MPIRun.executable
        let trained = try run(binary, ["train", "--data-dir", Self.mini, "--val-size", "1000", "--limit-train", "960", "--batch-size", "48",
                                       "--epochs", "1", "--log-every", "0", "--out-dir", out])
        XCTAssertEqual(trained.status, 0, trained.output)
        let checkpoint = out + "/checkpoints/best.safetensors"

        let evaluated = try run(binary, ["evaluate", "--checkpoint", checkpoint, "--data-dir", Self.mini, "--output", out + "/eval.json"])
        XCTAssertEqual(evaluated.status, 0, evaluated.output)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/eval.json"))) as? [String: Any])
        let levels = try XCTUnwrap(report["test"] as? [[String: Any]])
        XCTAssertEqual(levels.compactMap { $0["noise_factor"] as? Double }, [0, 0.1, 0.3, 0.5])
        let cleanMSE = try XCTUnwrap(levels[0]["mse"] as? Double)
        let errors = try XCTUnwrap(report["reconstruction_error"] as? [String: Any])
        XCTAssertEqual(errors["mean"] as? Double ?? 0, cleanMSE, accuracy: 1e-9)
        XCTAssertLessThanOrEqual(errors["p50"] as? Double ?? 1, errors["p99"] as? Double ?? 0)

        let encoded = try run(binary, ["encode", "--checkpoint", checkpoint, "--data-dir", Self.mini, "--output", out + "/z.csv"])
        XCTAssertEqual(encoded.status, 0, encoded.output)
        let rows = try String(contentsOfFile: out + "/z.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.first, "z0,z1,label")
        XCTAssertEqual(rows.count, 2001)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/z.png"))

        let images = Self.mini + "/t10k-images-idx3-ubyte.gz"
        XCTAssertEqual(try run(binary, ["denoise", "--checkpoint", checkpoint, "--input", images, "--output", out + "/d.png", "--noise-factor", "0.3", "--limit", "5"]).status, 0)
        XCTAssertEqual(try run(binary, ["denoise", "--checkpoint", checkpoint, "--input", images, "--output", out + "/d.idx", "--limit", "7"]).status, 0)
        let idx = try Data(contentsOf: URL(fileURLWithPath: out + "/d.idx"))
        XCTAssertEqual(idx.count, 16 + 7 * 784)
        // A PNG written by denoise is not 28 x 28: refused with a clear message.
        let refused = try run(binary, ["denoise", "--checkpoint", checkpoint, "--input", out + "/d.png", "--output", out + "/x.png"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.output.contains("28 x 28"), refused.output)

        // PyTorch loads best.safetensors into the reference model and gets the same test MSE.
        let python = "/usr/bin/env"
        let probe = try run(python, ["python3", "-c", "import torch, safetensors"])
        guard probe.status == 0 else { throw XCTSkip("torch/safetensors not installed; skipping the PyTorch load check") }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("bench/check_checkpoint.py").path
        let checked = try run(python, ["python3", script, checkpoint, Self.mini])
        XCTAssertEqual(checked.status, 0, checked.output)
        let line = try XCTUnwrap(checked.output.split(separator: "\n").last)
        let torch = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let torchMSE = try XCTUnwrap(torch["mse"] as? Double)
        XCTAssertEqual(torchMSE, cleanMSE, accuracy: 1e-5 * cleanMSE, "PyTorch \(torchMSE) vs dae-dist \(cleanMSE)")
    }
}
