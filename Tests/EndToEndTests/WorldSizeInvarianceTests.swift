import DAECore
import Foundation
import XCTest

/// 1, 2 and 4 ranks, and 1 or 2 compute threads, train the same model: same seed, global batch
/// and shard count give bit-identical losses at every step and bit-identical final parameters,
/// because every batch reduction is summed per shard slice in Double, in slice order.
final class WorldSizeInvarianceTests: XCTestCase {
    private func dataArguments() -> [String] {
        let mini = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data/mnist-mini").path
        if FileManager.default.fileExists(atPath: mini) {
            return ["--data-dir", mini, "--val-size", "1000", "--limit-train", "3000"]
        }
        print("note: \(mini) is absent; using the synthetic dataset")
        return ["--dataset", "synthetic", "--synthetic-size", "4000", "--val-size", "1000"]
    }

    private struct Run {
        let losses: [Double]
        let parameters: [String: [Float]]
        let output: String
    }

    private func train(ranks: Int, _ extra: [String]) throws -> Run {
        let outDir = NSTemporaryDirectory() + "dae-ws-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: outDir) }
        let arguments = ["train"] + dataArguments() + ["--batch-size", "48", "--shards", "24", "--max-steps", "20", "--seed", "3",
                                                       "--log-every", "1", "--out-dir", outDir] + extra
        let result = try MPIRun.run(ranks: ranks, arguments, deadline: 300)
        XCTAssertEqual(result.status, 0, "\(ranks) ranks \(extra): \(result.output)")
        let losses = result.output.split(separator: "\n").filter { $0.hasPrefix("step ") }.compactMap { line -> Double? in
            let fields = line.split(separator: " ")
            guard let index = fields.firstIndex(of: "loss") else { return nil }
            return Double(fields[index + 1])
        }
        let file = try SafeTensors.read(path: outDir + "/checkpoints/last.safetensors")
        var parameters: [String: [Float]] = [:]
        for name in file.entries.keys where file.entries[name]!.dtype == .float32 { parameters[name] = try file.floats(name) }
        return Run(losses: losses, parameters: parameters, output: result.output)
    }

    /// Bitwise: every printed loss (all the digits a Float has) and every stored tensor.
    private func assertSame(_ run: Run, as reference: Run, _ what: String) {
        XCTAssertEqual(run.losses.count, 20, what)
        XCTAssertEqual(run.losses, reference.losses, "\(what): losses")
        XCTAssertEqual(Set(run.parameters.keys), Set(reference.parameters.keys))
        for (name, values) in reference.parameters {
            let other = run.parameters[name] ?? []
            XCTAssertTrue(other.map(\.bitPattern) == values.map(\.bitPattern),
                          "\(what): \(name) differs (relative error \(relativeError(other, values)))")
        }
    }

    func testOneTwoAndFourRanksTrainTheSameModel() throws {
        let reference = try train(ranks: 1, ["--threads", "1"])
        XCTAssertEqual(reference.losses.count, 20)
        XCTAssertLessThan(reference.losses.last!, reference.losses.first!, "the loss falls")
        // Two compute threads share out the shard slices of one rank: the same model again.
        let threaded = try train(ranks: 1, ["--threads", "2"])
        assertSame(threaded, as: reference, "1 rank, 2 threads")
        for ranks in [2, 4] {
            for overlap in ["--overlap", "--no-overlap"] {
                let run = try train(ranks: ranks, [overlap])
                assertSame(run, as: reference, "\(ranks) ranks \(overlap)")
                XCTAssertTrue(run.output.contains("ranks agree: parameters bit-identical on all \(ranks) ranks"), run.output)
            }
        }
    }

    /// `--precision bf16` (products on bf16 operands, float32 sums) is its own trajectory, but
    /// 1, 2 and 4 ranks and 2 threads still train it bit for bit: each slice's products have
    /// the same shapes, and the bf16 GEMM sums in an order its shapes alone fix. It stays
    /// close to fp32 (losses within a few percent) and the saved state says it ran bf16.
    func testBF16TrainsTheSameModelOnAnyWorldSize() throws {
        if let reason = Precision.bf16.unavailableReason { throw XCTSkip(reason) }
        let bf16 = ["--precision", "bf16"]
        let reference = try train(ranks: 1, bf16 + ["--threads", "1"])
        assertSame(try train(ranks: 1, bf16 + ["--threads", "2"]), as: reference, "bf16, 1 rank, 2 threads")
        for ranks in [2, 4] {
            let run = try train(ranks: ranks, bf16)
            assertSame(run, as: reference, "bf16, \(ranks) ranks")
            XCTAssertTrue(run.output.contains("ranks agree: parameters bit-identical on all \(ranks) ranks"), run.output)
        }
        XCTAssertTrue(reference.output.contains("precision bf16 (products: dae-dist AVX512-BF16"), reference.output)
        let fp32 = try train(ranks: 1, ["--threads", "1"])
        XCTAssertNotEqual(reference.losses, fp32.losses, "bf16 rounds the products' operands")
        for (a, b) in zip(reference.losses, fp32.losses) { XCTAssertEqual(a, b, accuracy: 0.05 * b) }
    }

    /// Every rank validates its share of the hold-out: the loss is the one a single rank
    /// computes, bit for bit (here also with per-rank batches of 24 and 12, smaller than an
    /// evaluation run), and a validation twice as long as the collective timeout no longer
    /// trips the other ranks' watchdog (with rank 0 validating alone, rank 1 gave up after 2 s).
    func testValidationIsSharedOutAndTheSameOnAnyWorldSize() throws {
        var losses: [String] = []
        for ranks in [1, 2, 4] {
            let outDir = NSTemporaryDirectory() + "dae-val-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: outDir) }
            let result = try MPIRun.run(ranks: ranks, ["train", "--dataset", "synthetic", "--synthetic-size", "12000", "--val-size", "10000",
                                                       "--batch-size", "48", "--epochs", "1", "--log-every", "0",
                                                       "--collective-timeout", "2", "--out-dir", outDir], deadline: 300)
            XCTAssertEqual(result.status, 0, "\(ranks) ranks: \(result.output)")
            let metrics = try String(contentsOfFile: outDir + "/metrics.jsonl", encoding: .utf8)
            let line = try XCTUnwrap(metrics.split(separator: "\n").first { $0.contains(#""event":"validation""#) })
            let fields = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            losses.append("\(fields["Training loss"] ?? "-") \(fields["Validation loss"] ?? "-")")
        }
        XCTAssertEqual(Set(losses).count, 1, "training and validation losses at 1, 2 and 4 ranks: \(losses)")
    }

    /// `--digits` (here: hold out 7) trains on the kept digits only, and 1 and 2 ranks still
    /// train the same model bit for bit, also with the paper's masking noise.
    func testDigitsAndMaskingKeepWorldSizeInvariance() throws {
        let holdOut7 = ["--digits", "0,1,2,3,4,5,6,8,9", "--noise", "masking", "--noise-factor", "0.3", "--threads", "1"]
        let one = try train(ranks: 1, holdOut7), two = try train(ranks: 2, holdOut7)
        assertSame(two, as: one, "--digits, 2 ranks")
        XCTAssertTrue(one.output.contains("training images in 24 shards"), one.output)
        XCTAssertNotEqual(one.losses, try train(ranks: 1, ["--threads", "1"]).losses, "holding out 7 and masking change the training")
    }

    /// Local BatchNorm (each rank its own batch statistics) is a different model, but it trains,
    /// and the running statistics are averaged so all ranks still agree at the end.
    func testLocalBatchNormDiffersButTrains() throws {
        let reference = try train(ranks: 1, [])
        let local = try train(ranks: 2, ["--bn", "local"])
        XCTAssertEqual(local.losses.count, 20)
        XCTAssertNotEqual(local.losses, reference.losses)
        XCTAssertLessThan(local.losses.last!, 0.8 * local.losses.first!)
        XCTAssertTrue(local.output.contains("ranks agree"), local.output)
    }
}

func relativeError(_ a: [Float], _ b: [Float]) -> Double {
    guard a.count == b.count else { return .infinity }
    var difference = 0.0, scale = 0.0
    for (x, y) in zip(a, b) {
        difference = max(difference, abs(Double(x) - Double(y)))
        scale = max(scale, abs(Double(y)))
    }
    return scale == 0 ? difference : difference / scale
}
