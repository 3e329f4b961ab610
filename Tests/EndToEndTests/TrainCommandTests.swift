import DAECore
import Foundation
import XCTest

/// `dae-dist train` end to end: what a user runs and what they keep.
final class TrainCommandTests: XCTestCase {
    private let small = TrainRuns.small

    func testShortSingleRankRunWritesEverythingAndLearns() throws {
        let out = temporaryDirectory()
        let result = try runDirect(["train"] + small + ["--epochs", "3", "--out-dir", out])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("[Epoch   1] T_loss: "), result.output)
        XCTAssertTrue(result.output.contains("V_loss decreased (inf --> "), result.output)
        XCTAssertTrue(result.output.contains("Final training time: "), result.output)

        // metrics.jsonl: every line is a JSON object; the validation lines carry the reference trainer's fields.
        let lines = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        let records = try lines.map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        XCTAssertEqual(records.first?["event"] as? String, "run")
        let validations = records.filter { $0["event"] as? String == "validation" }
        XCTAssertEqual(validations.count, 3)
        let losses = validations.compactMap { $0["Validation loss"] as? Double }
        XCTAssertEqual(losses.count, 3)
        XCTAssertLessThan(losses.last!, losses.first!, "validation loss falls")
        for key in ["Epoch", "Training loss", "Training speed (epochs/sec)", "step", "images_per_sec", "elapsed_sec", "world_size"] {
            XCTAssertNotNil(validations[0][key], key)
        }
        XCTAssertTrue(records.contains { $0["event"] as? String == "checkpoint" && $0["kind"] as? String == "best" })
        let steps = records.filter { $0["event"] as? String == "step" }
        XCTAssertFalse(steps.isEmpty, "--log-every 5 logs steps")
        for step in steps {
            XCTAssertGreaterThan(step["images_per_sec"] as? Double ?? 0, 0)
            XCTAssertNotNil(step["comm_ms_per_step"] as? Double, "a step line names its time in collectives")
        }
        let config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/config.json"))) as? [String: Any])
        XCTAssertEqual(config["world_size"] as? Int, 1)
        // What computed the run: the CPU and the GEMM kernel (in the metrics header too).
        let machine = try XCTUnwrap(config["machine"] as? [String: Any])
        XCTAssertEqual(machine["cpu_isa"] as? String, CPU.isa.name)
        let gemm = try XCTUnwrap(machine["gemm"] as? [String: Any])
        XCTAssertNotNil(gemm["kernel"] as? String)
        XCTAssertNotNil(gemm["isa"] as? String)
        XCTAssertNotNil((records.first?["machine"] as? [String: Any])?["gemm"])
        XCTAssertTrue(result.output.contains("GEMM: "), "the startup line names the GEMM kernel: \(result.output)")

        // The best checkpoint reloads into a model with the same outputs as PyTorch-style state_dict.
        let best = try SafeTensors.read(path: out + "/checkpoints/best.safetensors")
        XCTAssertEqual(try best.int64s("encoder.encoder.1.num_batches_tracked").count, 1)
        let model = Autoencoder(latentDim: 2, maxBatch: 4)
        try ModelCheckpoint.load(model, from: best)
        let again = Autoencoder(latentDim: 2, maxBatch: 4, seed: 99)
        try ModelCheckpoint.load(again, from: try SafeTensors.read(path: out + "/checkpoints/best.safetensors"))
        for i in 0..<(4 * 784) { model.input[i] = Float(i % 29) / 29; again.input[i] = model.input[i] }
        try model.forward(batch: 4, training: false)
        try again.forward(batch: 4, training: false)
        XCTAssertEqual(model.output.array, again.output.array)
        XCTAssertEqual(best.metadata["epoch"].flatMap(Int.init), 3)
        XCTAssertNotNil(best.metadata["validation_loss"].flatMap(Double.init))
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/checkpoints/last.safetensors"))

        // Pictures per validation and at the end, and the summary.
        for name in ["samples/epoch-001.png", "samples/epoch-003.png", "loss-curve.png"] {
            let data = try Data(contentsOf: URL(fileURLWithPath: out + "/" + name))
            XCTAssertEqual(Array(data.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], name)
        }
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))) as? [String: Any])
        for key in ["best_validation_loss", "best_epoch", "test_mse_noise_0.1", "test_psnr_noise_0.1", "test_mse_noise_0.3",
                    "test_psnr_noise_0.3", "total_time_sec", "images_per_sec"] {
            XCTAssertNotNil(summary[key], key)
        }
        XCTAssertEqual(summary["best_validation_loss"] as? Double ?? 0, losses.min()!, accuracy: 1e-6)
    }

    /// The run's TensorBoard event file, read back by TensorBoard's own reader
    /// (bench/tensorboard_dump.py), holds the JSONL's values: every step line's loss, rate and
    /// collective time, every validation's losses at its step, and each sample grid. TensorBoard
    /// keeps a Float of the Double; the JSONL keeps the Double to 9 digits (`JSON.encode`), whose
    /// Float can land one Float step away from the direct one: `sameValue` allows that one step.
    func testTensorBoardEventsHoldTheMetrics() throws {
        try TestPython.require("tensorboard")
        let out = temporaryDirectory()
        let result = try runDirect(["train"] + small + ["--epochs", "2", "--out-dir", out])
        XCTAssertEqual(result.status, 0, result.output)
        let files = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasPrefix("events.out.tfevents.") }
        XCTAssertEqual(files.count, 1, "\(files)")
        let dump = try Subprocess.run(TestPython.executable, [TestPython.script("tensorboard_dump.py"), out])
        XCTAssertEqual(dump.status, 0, dump.output)
        let board = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try XCTUnwrap(dump.output.split(separator: "\n").last).utf8)) as? [String: Any])
        let scalars = try XCTUnwrap(board["scalars"] as? [String: [[Double]]])
        func sameValue(_ board: Float?, _ logged: Double, _ what: String) {
            guard let board else { return XCTFail("\(what): not in the event file") }
            XCTAssertLessThanOrEqual(abs(board - Float(logged)), Float(logged).ulp, "\(what): \(board) against \(logged)")
        }
        func series(_ tag: String) -> [Int: Float] {
            Dictionary((scalars[tag] ?? []).map { (Int($0[0]), Float($0[1])) }, uniquingKeysWith: { $1 })
        }
        let records = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
            .map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        let steps = records.filter { $0["event"] as? String == "step" }, validations = records.filter { $0["event"] as? String == "validation" }
        XCTAssertFalse(steps.isEmpty)
        XCTAssertEqual(series("train/loss").count, steps.count)
        for line in steps {
            let step = try XCTUnwrap(line["step"] as? Int)
            for (tag, key) in [("train/loss", "train_loss"), ("train/images_per_sec", "images_per_sec"), ("train/comm_ms_per_step", "comm_ms_per_step")] {
                sameValue(series(tag)[step], try XCTUnwrap(line[key] as? Double), "\(tag) at step \(step)")
            }
        }
        XCTAssertEqual(validations.count, 2)
        for line in validations {
            let step = try XCTUnwrap(line["step"] as? Int)
            sameValue(series("epoch/validation_loss")[step], try XCTUnwrap(line["Validation loss"] as? Double), "validation loss at \(step)")
            sameValue(series("epoch/train_loss")[step], try XCTUnwrap(line["Training loss"] as? Double), "training loss at \(step)")
        }
        let images = try XCTUnwrap((board["images"] as? [String: [[Int]]])?["samples"])
        XCTAssertEqual(images.map { $0[0] }, try validations.map { try XCTUnwrap($0["step"] as? Int) })
        let png = [UInt8](try Data(contentsOf: URL(fileURLWithPath: out + "/samples/epoch-001.png")).prefix(24))
        let (width, height) = (png[16..<20].reduce(0) { $0 << 8 | Int($1) }, png[20..<24].reduce(0) { $0 << 8 | Int($1) })
        XCTAssertEqual(images.first.map { [$0[1], $0[2]] }, [width, height])
    }

    /// Early stopping with patience 1 on 2 ranks: every rank leaves the loop, status 0.
    func testEarlyStoppingOnTwoRanksEndsCleanly() throws {
        let out = temporaryDirectory()
        // A learning rate this high makes the validation loss stop improving at once.
        let result = try MPIRun.run(ranks: 2, ["train"] + small + ["--epochs", "20", "--lr", "0.5", "--early-stop-patience", "1",
                                                                  "--out-dir", out], deadline: 300)
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("Early stopping counter: 1 out of 1"), result.output)
        XCTAssertFalse(result.output.contains("[Epoch  20]"), result.output)
        let metrics = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8)
        XCTAssertTrue(metrics.contains("\"event\":\"early_stop\""), metrics)
        // On 2 ranks every step meets in collectives (BatchNorm statistics, gradients, the
        // loss): the step lines and the console say how long, as `dae-dist bench` does.
        let steps = try metrics.split(separator: "\n").compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .filter { $0["event"] as? String == "step" }
        XCTAssertFalse(steps.isEmpty, metrics)
        for step in steps { XCTAssertGreaterThan(step["comm_ms_per_step"] as? Double ?? 0, 0, "\(step)") }
        XCTAssertTrue(result.output.contains(" comm_ms "), result.output)
    }

    /// `--config` supplies flag values (flag names or a run's config.json keys); the command line wins.
    func testConfigFileWithCommandLineOverrides() throws {
        let directory = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let config = directory + "/config.json"
        try Data(#"{"config": {"dataset": "synthetic", "synthetic_size": 1400, "val_size": 200, "batch_size": 96, "max_steps": 3, "overlap": false, "seed": 5, "data_dir": null}}"#.utf8)
            .write(to: URL(fileURLWithPath: config))
        let out = directory + "/run"
        let result = try runDirect(["train", "--config", config, "--max-steps", "2", "--log-every", "1", "--out-dir", out])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("global batch 96"), result.output)
        XCTAssertTrue(result.output.contains("step 2 ") && !result.output.contains("step 3 "), "the command line's --max-steps wins: \(result.output)")
        let written = try String(contentsOfFile: out + "/config.json", encoding: .utf8)
        XCTAssertTrue(written.contains(#""seed":5"#) && written.contains(#""overlap":false"#), written)

        try Data(#"{"epochz": 3}"#.utf8).write(to: URL(fileURLWithPath: config))
        let refused = try runDirect(["train", "--config", config])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.output.contains("epochz"), refused.output)
    }

    /// Without --threads a rank takes its share of the processors: all of them alone, one
    /// when bound to one core, the node's divided among its ranks under mpirun --bind-to none.
    func testThreadsDefaultToTheRanksShareOfTheProcessors() throws {
        let processors = ProcessInfo.processInfo.activeProcessorCount
        let run = ["train"] + small + ["--max-steps", "1"]
        let aloneDir = temporaryDirectory()
        let alone = try runDirect(run + ["--out-dir", aloneDir])
        XCTAssertEqual(alone.status, 0, alone.output)
        XCTAssertTrue(alone.output.contains("\(min(processors, 24)) compute thread(s) per rank"), alone.output)
        let taskset = "/usr/bin/taskset"
        if FileManager.default.isExecutableFile(atPath: taskset) {
            let bound = try Subprocess.run(taskset, ["-c", "0", MPIRun.executable] + run + ["--out-dir", temporaryDirectory()])
            XCTAssertEqual(bound.status, 0, bound.output)
            XCTAssertTrue(bound.output.contains("1 compute thread(s) per rank"), bound.output)
        }
        let twoRanks = try MPIRun.run(ranks: 2, run + ["--out-dir", temporaryDirectory()])
        XCTAssertEqual(twoRanks.status, 0, twoRanks.output)
        XCTAssertTrue(twoRanks.output.contains("\(max(1, processors / 2)) compute thread(s) per rank"), twoRanks.output)
        let config = try String(contentsOfFile: aloneDir + "/config.json", encoding: .utf8)
        XCTAssertTrue(config.contains("\"threads\":\(min(processors, 24))"), "the run's config.json records the count: \(config)")
    }

    /// `launch/train` runs 4 ranks on this machine (oversubscribed on 2 cores).
    func testLaunchTrainRunsFourRanks() throws {
        _ = try MPIRun.mpirunPath()
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("launch/train").path
        let (status, output) = try Subprocess.run("/bin/bash", [script] + small + ["--max-steps", "3", "--out-dir", temporaryDirectory()],
                                                  environment: ["NP": "4"])
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("4 rank(s)") && output.contains("ranks agree"), output)
    }

    /// `--digits` is recorded in config.json and the best checkpoint; a list that is not of
    /// digits is refused, and so is a label file holding a label that is not a digit.
    func testDigitsAreRecordedAndCheckedAsData() throws {
        let out = temporaryDirectory()
        let result = try runDirect(["train"] + small + ["--digits", "1,0", "--epochs", "1", "--out-dir", out])
        XCTAssertEqual(result.status, 0, result.output)
        let config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/config.json"))) as? [String: Any])
        XCTAssertEqual((config["config"] as? [String: Any])?["digits"] as? [Int], [0, 1])
        XCTAssertEqual(try SafeTensors.read(path: out + "/checkpoints/best.safetensors").metadata["digits"], "0,1")
        let refused = try runDirect(["train"] + small + ["--digits", "1,12"])
        XCTAssertEqual(refused.status, 64, refused.output)
        XCTAssertTrue(refused.output.contains("--digits"), refused.output)

        let data = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        var labels = Data([0, 0, 8, 1, 0, 0, 0, 20])  // magic 2049, 20 labels
        labels.append(contentsOf: (0..<20).map { UInt8($0 == 13 ? 12 : $0 % 10) })
        var images = Data([0, 0, 8, 3, 0, 0, 0, 20, 0, 0, 0, 28, 0, 0, 0, 28])
        images.append(Data(count: 20 * 784))
        try labels.write(to: URL(fileURLWithPath: data + "/train-labels-idx1-ubyte"))
        try images.write(to: URL(fileURLWithPath: data + "/train-images-idx3-ubyte"))
        let bad = try runDirect(["train", "--data-dir", data, "--no-download", "--val-size", "4", "--batch-size", "24", "--digits", "0,1"])
        XCTAssertEqual(bad.status, 1, bad.output)
        XCTAssertTrue(bad.output.contains("label 13 is 12, not a digit"), bad.output)
    }

    func testBadFlagsAreRefusedBeforeAnyWork() throws {
        let file = temporaryDirectory()
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data([1])))
        let cases: [([String], String)] = [
            (["--epochs", "0"], "--epochs"),
            (["--lr", "-1"], "--lr"),
            (["--batch-size", "8", "--dataset", "synthetic"], "--batch-size"),
            (["--shards", "0"], "--shards"),
            (["--latent-dim", "1000000000"], "--latent-dim must be between 1 and 4096"),
            (["--dataset", "synthetic", "--synthetic-size", "4000000000"], "--synthetic-size must be between 1 and 1000000"),
            (["--bn", "sideways"], "--bn"),
            (["--val-size", "100000", "--dataset", "synthetic"], "--val-size"),
            (["--data-dir", "/nonexistent", "--no-download"], "/nonexistent/"),
            // Refused before the data is looked for (here it would be downloaded first).
            (["--batch-size", "10", "--data-dir", "/nonexistent"], "--shards (24)"),
            (["--resume", "/nonexistent/last.safetensors", "--data-dir", "/nonexistent"], "/nonexistent/last.safetensors: cannot resume"),
            (["--data-dir", file + "/mnist"], "--data-dir: \(file)/mnist: cannot create this folder (\(file) exists and is not a folder)"),
            (["--dataset", "synthetic", "--out-dir", file + "/run"], "\(file)/run: cannot create this folder (\(file) exists and is not a folder)"),
        ]
        for (arguments, named) in cases {
            let result = try runDirect(["train"] + arguments)
            XCTAssertNotEqual(result.status, 0, "\(arguments)")
            XCTAssertTrue(result.output.contains(named), "\(arguments): \(result.output)")
            XCTAssertFalse(result.output.contains("downloading"), "\(arguments): \(result.output)")
        }
    }

    /// `--precision bf16` where it cannot run (no AVX512_BF16, or DAE_KERNELS holding the kernels
    /// below AVX-512) is refused before any work, saying why and what to use instead.
    func testBF16IsRefusedWhereItCannotRun() throws {
        let environment = Precision.bf16.unavailableReason == nil ? ["DAE_KERNELS": "avx2"] : [:]
        for command in [["train", "--dataset", "synthetic"], ["bench", "--batch-sizes", "64"]] {
            let result = try Subprocess.run(MPIRun.executable, command + ["--precision", "bf16"], environment: environment)
            XCTAssertNotEqual(result.status, 0, "\(command)")
            XCTAssertTrue(result.output.contains("--precision bf16") && result.output.contains("use --precision fp32"), result.output)
            XCTAssertFalse(result.output.contains("training images"), result.output)
        }
    }
}
