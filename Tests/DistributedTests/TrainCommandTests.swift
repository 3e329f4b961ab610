import DAECore
import Foundation
import XCTest

/// `dae-dist train` end to end: what a user runs and what they keep.
final class TrainCommandTests: XCTestCase {
    private func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "dae-train-\(UUID().uuidString)"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    /// Runs the binary directly (one rank, no mpirun).
    private func runDirect(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try Subprocess.run(MPIRun.executable, arguments)
    }

    private let small = ["--dataset", "synthetic", "--synthetic-size", "1400", "--val-size", "200", "--batch-size", "48", "--log-every", "5"]

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

    func testBadFlagsAreRefusedBeforeAnyWork() throws {
        let file = temporaryDirectory()
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data([1])))
        let cases: [([String], String)] = [
            (["--epochs", "0"], "--epochs"),
            (["--lr", "-1"], "--lr"),
            (["--batch-size", "8", "--dataset", "synthetic"], "--batch-size"),
            (["--shards", "0"], "--shards"),
            (["--latent-dim", "1000000000"], "--latent-dim must be at most 4096"),
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

    private func tensors(_ path: String) throws -> [String: [Float]] {
        let file = try SafeTensors.read(path: path)
        var out: [String: [Float]] = [:]
        for (name, entry) in file.entries where entry.dtype == .float32 { out[name] = try file.floats(name) }
        return out
    }

    /// Stopped and resumed (25 steps per epoch: stopped in epoch 2, resumed across its end)
    /// ends with the same parameters, Adam moments and running statistics as a run that never
    /// stopped, bitwise, on the same world size and when resumed on 2 ranks.
    func testResumeIsExact() throws {
        let straight = temporaryDirectory(), stopped = temporaryDirectory(), moved = temporaryDirectory()
        let common = small + ["--epochs", "3", "--log-every", "0"]
        XCTAssertEqual(try runDirect(["train"] + common + ["--max-steps", "55", "--out-dir", straight]).status, 0)
        XCTAssertEqual(try runDirect(["train"] + common + ["--max-steps", "30", "--out-dir", stopped]).status, 0)
        let again = try runDirect(["train"] + common + ["--max-steps", "55", "--out-dir", stopped, "--resume", "auto"])
        XCTAssertEqual(again.status, 0, again.output)
        XCTAssertTrue(again.output.contains("resuming from"), again.output)
        let reference = try tensors(straight + "/checkpoints/last.safetensors")
        XCTAssertEqual(try tensors(stopped + "/checkpoints/last.safetensors"), reference, "same world size: bitwise")
        // The loss curve of the resumed run covers the epochs before the stop too.
        func lossHistory(_ out: String) throws -> [[String: Double]] {
            let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))) as? [String: Any]
            return try XCTUnwrap(summary?["loss_history"] as? [[String: Double]])
        }
        XCTAssertEqual(try lossHistory(stopped), try lossHistory(straight))
        XCTAssertGreaterThan(try lossHistory(straight).count, 1)

        XCTAssertEqual(try runDirect(["train"] + common + ["--max-steps", "30", "--out-dir", moved]).status, 0)
        let twoRanks = try MPIRun.run(ranks: 2, ["train"] + common + ["--max-steps", "55", "--out-dir", moved, "--resume", "auto"], deadline: 300)
        XCTAssertEqual(twoRanks.status, 0, twoRanks.output)
        XCTAssertEqual(try tensors(moved + "/checkpoints/last.safetensors"), reference, "resumed on 2 ranks: bitwise")
    }

    /// Resuming with a setting that shapes the trajectory changed is refused, naming the
    /// setting and both values, unless --allow-config-change; --epochs or --max-steps may change.
    func testResumeRefusesTrajectoryChanges() throws {
        let out = temporaryDirectory()
        let common = small + ["--epochs", "3", "--log-every", "0", "--out-dir", out]
        XCTAssertEqual(try runDirect(["train"] + common + ["--max-steps", "10"]).status, 0)
        let changed = try runDirect(["train"] + common + ["--max-steps", "20", "--resume", "auto", "--seed", "3", "--lr", "0.01"])
        XCTAssertEqual(changed.status, 1, changed.output)
        XCTAssertTrue(changed.output.contains("--seed 0 (this run: 3)") && changed.output.contains("--lr 0.001 (this run: 0.01)")
                      && changed.output.contains("--allow-config-change"), changed.output)
        let allowed = try runDirect(["train"] + common + ["--max-steps", "20", "--resume", "auto", "--seed", "3", "--allow-config-change"])
        XCTAssertEqual(allowed.status, 0, allowed.output)
        let longer = try runDirect(["train"] + common + ["--max-steps", "30", "--resume", "auto", "--seed", "3"])
        XCTAssertEqual(longer.status, 0, "the saved run now has seed 3: \(longer.output)")
    }

    /// A metrics log that cannot be written (here /dev/full: every write fails with ENOSPC)
    /// ends the run with exit 1 and a message naming the file and the reason, not a trap.
    func testFullDiskEndsTheRunWithAMessage() throws {
        guard FileManager.default.fileExists(atPath: "/dev/full") else { throw XCTSkip("no /dev/full on this system") }
        let out = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: out + "/metrics.jsonl", withDestinationPath: "/dev/full")
        let result = try runDirect(["train"] + small + ["--max-steps", "2", "--out-dir", out])
        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertTrue(result.output.contains("metrics.jsonl") && result.output.contains("No space left on device"), result.output)
    }

    /// One run per --out-dir: a second training into a folder a running one holds is refused,
    /// naming the holder; after the holder is killed the next run takes the folder over,
    /// saying so, and removes the temporary files a killed write left.
    func testOneRunPerOutDir() throws {
        let out = temporaryDirectory()
        let first = Process()
        first.executableURL = URL(fileURLWithPath: MPIRun.executable)
        first.arguments = ["train"] + small + ["--epochs", "200", "--out-dir", out]
        first.standardOutput = FileHandle.nullDevice
        first.standardError = FileHandle.nullDevice
        try first.run()
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL); first.waitUntilExit() } }
        let started = Date()
        while !FileManager.default.fileExists(atPath: out + "/metrics.jsonl") && Date().timeIntervalSince(started) < 60 { usleep(50_000) }
        XCTAssertTrue(first.isRunning, "the first run should still be training")

        let second = try runDirect(["train"] + small + ["--max-steps", "1", "--out-dir", out])
        XCTAssertEqual(second.status, 1, second.output)
        XCTAssertTrue(second.output.contains("another training is running") && second.output.contains(" \(first.processIdentifier)"), second.output)

        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        let leftover = out + "/checkpoints/.last.safetensors.tmp-999999"
        XCTAssertTrue(FileManager.default.createFile(atPath: leftover, contents: Data([1, 2, 3])))
        let third = try runDirect(["train"] + small + ["--max-steps", "1", "--out-dir", out])
        XCTAssertEqual(third.status, 0, third.output)
        XCTAssertTrue(third.output.contains("did not end cleanly; taking it over"), third.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: leftover), "a killed write's temporary file is removed")
        let again = try runDirect(["train"] + small + ["--max-steps", "1", "--out-dir", out])
        XCTAssertEqual(again.status, 0, again.output)
        XCTAssertFalse(again.output.contains("taking it over"), "a run that ended cleanly leaves nothing to take over: \(again.output)")
    }

    /// SIGHUP (a closed terminal) and a closed stdout pipe (`| head -1`) stop a run as SIGTERM
    /// does: the state is saved and the exit status is 130, instead of dying with nothing saved.
    func testHangUpAndBrokenPipeSaveTheState() throws {
        for how in ["SIGHUP", "broken pipe"] {
            let out = temporaryDirectory()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: MPIRun.executable)
            process.arguments = ["train"] + small + ["--epochs", "200", "--log-every", "1", "--out-dir", out]
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            try process.run()
            defer { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }
            let started = Date()
            while !FileManager.default.fileExists(atPath: out + "/metrics.jsonl") && Date().timeIntervalSince(started) < 60 { usleep(50_000) }
            if how == "SIGHUP" {
                kill(process.processIdentifier, SIGHUP)
            } else {
                try pipe.fileHandleForReading.close()  // the reader goes away; the next line written raises SIGPIPE
            }
            while process.isRunning && Date().timeIntervalSince(started) < 120 { usleep(50_000) }
            XCTAssertFalse(process.isRunning, "\(how): the run should stop")
            XCTAssertEqual(process.terminationReason, .exit, how)
            XCTAssertEqual(process.terminationStatus, 130, how)
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/checkpoints/last.safetensors"), "\(how): the state is saved")
        }
    }

    /// Broken or mismatched checkpoints are refused with the file and the problem named.
    func testBadCheckpointsAreRefused() throws {
        let out = temporaryDirectory()
        XCTAssertEqual(try runDirect(["train"] + small + ["--epochs", "1", "--limit-train", "480", "--out-dir", out]).status, 0)
        let last = out + "/checkpoints/last.safetensors"
        let good = try Data(contentsOf: URL(fileURLWithPath: last))

        let wrongLatent = try runDirect(["train"] + small + ["--latent-dim", "16", "--resume", last, "--out-dir", temporaryDirectory()])
        XCTAssertNotEqual(wrongLatent.status, 0)
        XCTAssertTrue(wrongLatent.output.contains(last) && wrongLatent.output.contains("--latent-dim 2"), wrongLatent.output)

        let broken = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: broken, withIntermediateDirectories: true)
        /// `good` with one metadata value replaced (the header rewritten, its length updated).
        func withMetadata(_ key: String, _ value: String) throws -> Data {
            let length = Int(good.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian)
            var header = try XCTUnwrap(JSONSerialization.jsonObject(with: good.subdata(in: 8..<(8 + length))) as? [String: Any])
            var metadata = try XCTUnwrap(header["__metadata__"] as? [String: String])
            metadata[key] = value
            header["__metadata__"] = metadata
            let encoded = try JSONSerialization.data(withJSONObject: header)
            return withUnsafeBytes(of: UInt64(encoded.count).littleEndian) { Data($0) } + encoded + good.dropFirst(8 + length)
        }
        let cases: [(String, Data)] = [
            ("epoch near 2^63", try withMetadata("epoch", "9223372036854775000")),
            ("adam step near 2^63", try withMetadata("adam_step", "9223372036854775807")),
            ("epoch steps negative", try withMetadata("epoch_steps", "-3")),
            ("truncated", good.prefix(good.count / 2)),
            ("garbage header", Data([255, 255, 255, 255, 0, 0, 0, 0]) + good.dropFirst(8)),
            ("best instead of last", try Data(contentsOf: URL(fileURLWithPath: out + "/checkpoints/best.safetensors"))),
        ]
        for (what, data) in cases {
            let path = broken + "/\(what.replacingOccurrences(of: " ", with: "-")).safetensors"
            XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: data), path)
            let result = try runDirect(["train"] + small + ["--resume", path, "--out-dir", temporaryDirectory()])
            XCTAssertEqual(result.status, 1, "\(what): refused with an error, not a trap: \(result.output)")
            XCTAssertTrue(result.output.contains(path), "\(what): \(result.output)")
        }
        let missing = try runDirect(["train"] + small + ["--resume", broken + "/none.safetensors", "--out-dir", temporaryDirectory()])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.output.contains("none.safetensors") && missing.output.contains("no such file"), missing.output)
    }

    /// SIGTERM to one rank: both ranks finish the step, the state is saved, the job exits
    /// non-zero saying how to resume, and resuming continues from there.
    func testSigtermOnOneRankStopsAllAndSavesState() throws {
        let out = temporaryDirectory() + "-sigterm"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: out) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try MPIRun.mpirunPath())
        process.arguments = ["-n", "2", "--oversubscribe", MPIRun.executable, "train"] + small + ["--epochs", "50", "--out-dir", out]
        var environment = ProcessInfo.processInfo.environment
        environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let collected = OutputCollector()
        pipe.fileHandleForReading.readabilityHandler = { collected.append($0.availableData) }
        try process.run()
        let start = Date()
        while !collected.text.contains("step 10 ") && Date().timeIntervalSince(start) < 120 { usleep(100_000) }
        // The rank processes carry the out dir on their command line; signal the last one (rank 1).
        let finder = Process()
        finder.executableURL = URL(fileURLWithPath: "/usr/bin/pgrep")
        finder.arguments = ["-f", "dae-dist train .*\(out)"]
        let found = Pipe()
        finder.standardOutput = found
        try finder.run()
        finder.waitUntilExit()
        let pids = String(decoding: found.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n").compactMap { Int32($0) }
        XCTAssertGreaterThanOrEqual(pids.count, 2, "rank processes")
        if let pid = pids.last { kill(pid, SIGTERM) }
        while process.isRunning && Date().timeIntervalSince(start) < 180 { usleep(100_000) }
        if process.isRunning { process.terminate(); XCTFail("job still running after SIGTERM") }
        process.waitUntilExit()
        pipe.fileHandleForReading.readabilityHandler = nil
        let output = collected.text + String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertNotEqual(process.terminationStatus, 0, output)
        XCTAssertTrue(output.contains("--resume auto"), output)
        let state = try SafeTensors.read(path: out + "/checkpoints/last.safetensors")
        let stoppedAt = try XCTUnwrap(state.metadata["step"].flatMap(Int.init))
        XCTAssertGreaterThanOrEqual(stoppedAt, 10)
        let resumed = try runDirect(["train"] + small + ["--epochs", "50", "--max-steps", String(stoppedAt + 2), "--out-dir", out, "--resume", "auto"])
        XCTAssertEqual(resumed.status, 0, resumed.output)
        XCTAssertTrue(resumed.output.contains("step \(stoppedAt)"), resumed.output)
    }
}
