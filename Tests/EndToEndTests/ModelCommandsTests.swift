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

    /// An empty test set (IDX headers counting 0) and `--limit 0` are refused with a message,
    /// not an index out of range; `train` goes on without a test set instead of reporting
    /// the PSNR of nothing.
    func testEmptyTestSetAndZeroLimitAreRefused() throws {
        let dir = NSTemporaryDirectory() + "dae-empty-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        func header(_ words: [UInt32]) -> Data { words.reduce(into: Data()) { data, word in withUnsafeBytes(of: word.bigEndian) { data.append(contentsOf: $0) } } }
        XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/t10k-images-idx3-ubyte", contents: header([2051, 0, 28, 28])))
        XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/t10k-labels-idx1-ubyte", contents: header([2049, 0])))
        let binary = MPIRun.executable, checkpoint = dir + "/init.safetensors"
        XCTAssertEqual(try run(binary, ["init", "--output", checkpoint]).status, 0)
        for command in ["evaluate", "encode"] {
            let empty = try run(binary, [command, "--checkpoint", checkpoint, "--data-dir", dir])
            XCTAssertNotEqual(empty.status, 0, empty.output)
            XCTAssertTrue(empty.output.contains("holds no images"), empty.output)
            let zero = try run(binary, [command, "--checkpoint", checkpoint, "--dataset", "synthetic", "--limit", "0"])
            XCTAssertNotEqual(zero.status, 0, zero.output)
            XCTAssertTrue(zero.output.contains("--limit must be at least 1"), zero.output)
        }
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
        try TestPython.require("torch, safetensors")
        let checked = try run(TestPython.executable, [TestPython.script("check_checkpoint.py"), checkpoint, Self.mini])
        XCTAssertEqual(checked.status, 0, checked.output)
        let line = try XCTUnwrap(checked.output.split(separator: "\n").last)
        let torch = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let torchMSE = try XCTUnwrap(torch["mse"] as? Double)
        XCTAssertEqual(torchMSE, cleanMSE, accuracy: 1e-5 * cleanMSE, "PyTorch \(torchMSE) vs dae-dist \(cleanMSE)")
    }
}
