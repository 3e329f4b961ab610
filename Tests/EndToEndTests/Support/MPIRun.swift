import Foundation
import XCTest

/// Runs the built `dae-dist` under a real `mpirun`, as a user would, with a hard deadline.
enum MPIRun {
    /// The `dae-dist` executable: `DAE_DIST_BINARY` when set (launch/test points it at a
    /// release build, ~10x faster than debug for these end-to-end runs), else the one in the
    /// build folder the tests run from.
    static var executable: String {
        if let path = ProcessInfo.processInfo.environment["DAE_DIST_BINARY"], FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        let places = [Bundle.main.executableURL?.deletingLastPathComponent(), Bundle.main.bundleURL,
                      Bundle.main.bundleURL.deletingLastPathComponent()].compactMap { $0 }
        for place in places {
            let path = place.appendingPathComponent("dae-dist").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return places[0].appendingPathComponent("dae-dist").path
    }

    static func mpirunPath() throws -> String {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let path = "\(directory)/mpirun"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw XCTSkip("mpirun is not installed (apt-get install openmpi-bin); skipping the multi-process test")
    }

    struct Result {
        let status: Int32
        let output: String
        let seconds: Double
    }

    /// `mpirun -n ranks --oversubscribe dae-dist arguments...`, killed after `deadline` seconds.
    static func run(ranks: Int, _ arguments: [String], deadline: Double = 120, environment extra: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try mpirunPath())
        process.arguments = ["-n", String(ranks), "--oversubscribe", "--bind-to", "none", executable] + arguments
        var environment = ProcessInfo.processInfo.environment
        // Tests run as root on CI; a user's machine does not need this.
        environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        environment["OMPI_MCA_mpi_yield_when_idle"] = "1"
        environment["OPENBLAS_NUM_THREADS"] = "1"
        for (key, value) in extra { environment[key] = value }
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let collected = OutputCollector()
        pipe.fileHandleForReading.readabilityHandler = { handle in collected.append(handle.availableData) }
        let start = Date()
        try process.run()
        while process.isRunning && Date().timeIntervalSince(start) < deadline { usleep(20_000) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            pipe.fileHandleForReading.readabilityHandler = nil
            XCTFail("mpirun -n \(ranks) \(arguments.joined(separator: " ")) still running after \(deadline) s: \(collected.text)")
            return Result(status: -1, output: collected.text, seconds: deadline)
        }
        process.waitUntilExit()
        pipe.fileHandleForReading.readabilityHandler = nil
        collected.append(pipe.fileHandleForReading.readDataToEndOfFile())
        return Result(status: process.terminationStatus, output: collected.text, seconds: Date().timeIntervalSince(start))
    }
}

/// Runs a program to completion, capturing stdout and stderr together. Past `deadline`
/// seconds coreutils' `timeout` ends it and everything it started in its process group
/// (mpirun and its ranks among them) and the status is 124, so a hung run fails its test
/// instead of stalling the suite.
enum Subprocess {
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                    directory: URL? = nil, deadline: Int = 900) throws -> (status: Int32, output: String) {
        let process = Process()
        let timeout = "/usr/bin/timeout"
        if FileManager.default.isExecutableFile(atPath: timeout) {
            process.executableURL = URL(fileURLWithPath: timeout)
            process.arguments = ["--kill-after=20", String(deadline), executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        if let directory { process.currentDirectoryURL = directory }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

final class OutputCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func append(_ more: Data) { lock.lock(); data.append(more); lock.unlock() }
    var text: String { lock.lock(); defer { lock.unlock() }; return String(decoding: data, as: UTF8.self) }
}

/// The Python of the interoperability tests: `DAE_TEST_PYTHON` (set by launch/test to the
/// virtual environment launch/python-env makes, with torch, safetensors and tensorboard),
/// else `python3` on the PATH.
enum TestPython {
    static var executable: String { ProcessInfo.processInfo.environment["DAE_TEST_PYTHON"] ?? "/usr/bin/python3" }

    /// A script of the checkout's `bench/` folder.
    static func script(_ name: String) -> String {
        // Tests/EndToEndTests/Support/MPIRun.swift: four levels below the checkout.
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("bench/\(name)").path
    }

    /// Skips the test, saying which, when `modules` do not import (outside launch/test).
    static func require(_ modules: String) throws {
        let probe = try Subprocess.run(executable, ["-c", "import \(modules)"])
        guard probe.status == 0 else {
            throw XCTSkip("\(executable) cannot import \(modules) (launch/test provides them through launch/python-env); skipping")
        }
    }
}
