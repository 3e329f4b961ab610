import DAECore
import Foundation
import XCTest

/// `launch/train` as a job supervisor: a signal to it stops the job with its state saved and
/// exit 130; a failed job (a rank killed) is restarted from its state with --max-restarts.
final class LaunchTrainTests: XCTestCase {
    private let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("launch/train").path
    private let flags = TrainRuns.small + ["--epochs", "3", "--log-every", "0", "--checkpoint-every", "5"]

    /// `NP=2 launch/train arguments...` in the background, its output going to a file.
    private func start(_ arguments: [String]) throws -> (process: Process, log: String) {
        _ = try MPIRun.mpirunPath()
        let log = temporaryDirectory() + ".log"
        XCTAssertTrue(FileManager.default.createFile(atPath: log, contents: nil))
        addTeardownBlock { try? FileManager.default.removeItem(atPath: log) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["NP": "2"]) { $1 }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        addTeardownBlock { if process.isRunning { process.terminate() } }
        return (process, log)
    }

    /// Waits (at most `seconds`) until `path` exists.
    private func waitFor(_ path: String, seconds: Double = 120) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while !FileManager.default.fileExists(atPath: path) {
            guard Date() < deadline else { throw XCTSkip("\(path) did not appear within \(seconds) s") }
            usleep(100_000)
        }
    }

    /// The dae-dist rank processes whose command line names `outDir`.
    private func ranks(of outDir: String) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { pid in
            guard let name = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8), name.hasPrefix("dae-dist"),
                  let command = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            return String(decoding: command, as: UTF8.self).contains(outDir)
        }
    }

    private func finish(_ process: Process, seconds: Double = 180) -> Int32 {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(100_000) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return process.terminationStatus
    }

    func testAFailedJobIsRestartedFromItsStateAndEndsAsIfUninterrupted() throws {
        let out = temporaryDirectory()
        let (job, log) = try start(flags + ["--max-restarts", "2", "--out-dir", out])
        try waitFor(out + "/checkpoints/last.safetensors")
        usleep(500_000)
        let victims = ranks(of: out)
        XCTAssertEqual(victims.count, 2, "two ranks running")
        if let rank = victims.last { kill(rank, SIGKILL) }
        let status = finish(job)
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("restart 1 of 2") && output.contains("resuming from"), output)
        let metrics = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8)
        XCTAssertTrue(metrics.contains(#""event":"restart","attempt":1"#), metrics)

        let straight = temporaryDirectory()
        let reference = try runDirect(["train"] + flags + ["--out-dir", straight])
        XCTAssertEqual(reference.status, 0, reference.output)
        XCTAssertEqual(try TrainRuns.tensors(out + "/checkpoints/last.safetensors"), try TrainRuns.tensors(straight + "/checkpoints/last.safetensors"),
                       "restarted job vs uninterrupted run: bitwise")
    }

    func testASignalToTheLauncherSavesTheStateAndExits130() throws {
        let out = temporaryDirectory()
        let (job, log) = try start(flags + ["--epochs", "20", "--out-dir", out])
        try waitFor(out + "/checkpoints/last.safetensors")
        kill(job.processIdentifier, SIGTERM)
        let status = finish(job)
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        XCTAssertEqual(status, 130, output)
        XCTAssertTrue(output.contains("stopped by SIGTERM") && output.contains("--resume auto"), output)
        XCTAssertEqual(ranks(of: out), [], "no rank left behind")
    }
}
