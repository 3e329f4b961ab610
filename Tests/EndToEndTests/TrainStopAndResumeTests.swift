import DAECore
import Foundation
import XCTest

/// `dae-dist train` stopped, failing and resumed: what is kept, what is refused.
final class TrainStopAndResumeTests: XCTestCase {
    private let small = TrainRuns.small

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
        let reference = try TrainRuns.tensors(straight + "/checkpoints/last.safetensors")
        XCTAssertEqual(try TrainRuns.tensors(stopped + "/checkpoints/last.safetensors"), reference, "same world size: bitwise")
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
        XCTAssertEqual(try TrainRuns.tensors(moved + "/checkpoints/last.safetensors"), reference, "resumed on 2 ranks: bitwise")
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

    /// A file that cannot be written mid-run (here the first sample picture, whose path is
    /// taken by a folder) ends the run with exit 1 naming it, after saving the training state,
    /// from which the run continues once the obstacle is gone.
    func testAWriteFailureMidRunSavesTheStateFirst() throws {
        let out = temporaryDirectory()
        let blocked = out + "/samples/epoch-001.png"
        try FileManager.default.createDirectory(atPath: blocked + "/in-the-way", withIntermediateDirectories: true)
        let common = ["train"] + small + ["--epochs", "2", "--log-every", "0", "--out-dir", out]
        let failed = try runDirect(common)
        XCTAssertEqual(failed.status, 1, failed.output)
        XCTAssertTrue(failed.output.contains(blocked), failed.output)
        XCTAssertTrue(failed.output.contains("the training state after step 25 is saved"), failed.output)
        try FileManager.default.removeItem(atPath: blocked)
        let resumed = try runDirect(common + ["--resume", "auto"])
        XCTAssertEqual(resumed.status, 0, resumed.output)
        XCTAssertTrue(resumed.output.contains("resuming from") && resumed.output.contains("epoch 2, step 25"), resumed.output)
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
        // The killed run may have saved checkpoints: a new run replaces them only when told to.
        let third = try runDirect(["train"] + small + ["--max-steps", "1", "--out-dir", out, "--overwrite"])
        XCTAssertEqual(third.status, 0, third.output)
        XCTAssertTrue(third.output.contains("did not end cleanly; taking it over"), third.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: leftover), "a killed write's temporary file is removed")
        let again = try runDirect(["train"] + small + ["--max-steps", "1", "--out-dir", out, "--overwrite"])
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
