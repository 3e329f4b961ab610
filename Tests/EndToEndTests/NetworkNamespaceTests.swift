import Foundation
import XCTest

/// Ranks on separate hosts made from network namespaces (own network stack and address,
/// joined by a bridge), launched by mpirun through an agent that enters each namespace and
/// talking over TCP only: the multi-host path of the compose cluster, for real. The losses
/// equal a single-process run's.
final class NetworkNamespaceTests: XCTestCase {
    private func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        try Subprocess.run(executable, arguments, environment: environment, deadline: 300)
    }

    private func losses(_ output: String) -> [String] {
        output.split(separator: "\n").filter { $0.hasPrefix("step ") }.map { String($0.split(separator: " ")[5]) }
    }

    func testTwoAndThreeNamespaceHostsTrainTheSameModel() throws {
        _ = try MPIRun.mpirunPath()
        let probe = "daeprobe\(getpid())"
        let created = try run("/usr/bin/env", ["ip", "netns", "add", probe])
        guard created.status == 0 else { throw XCTSkip("cannot create network namespaces here (needs root and iproute2): \(created.output)") }
        _ = try run("/usr/bin/env", ["ip", "netns", "del", probe])

        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("launch/netns-cluster").path
        let flags = ["--dataset", "synthetic", "--synthetic-size", "1400", "--val-size", "200", "--batch-size", "48",
                     "--max-steps", "6", "--log-every", "1"]
        let single = try run(MPIRun.executable, ["train"] + flags + ["--out-dir", NSTemporaryDirectory() + "dae-ns-\(UUID().uuidString)"])
        XCTAssertEqual(single.status, 0, single.output)
        XCTAssertEqual(losses(single.output).count, 6)
        for hosts in [2, 3] {
            let out = NSTemporaryDirectory() + "dae-ns-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: out) }
            let result = try run("/bin/bash", [script, String(hosts)] + flags + ["--out-dir", out],
                                 environment: ["DAE_DIST_BINARY": MPIRun.executable])
            XCTAssertEqual(result.status, 0, result.output)
            XCTAssertTrue(result.output.contains("netns-cluster: \(hosts) hosts"), result.output)
            // The hosts share this machine's cores: each rank gets its share, not all of them.
            let threads = max(1, ProcessInfo.processInfo.activeProcessorCount / hosts)
            XCTAssertTrue(result.output.contains("\(threads) compute thread(s) per rank"), result.output)
            XCTAssertTrue(result.output.contains("ranks agree: parameters bit-identical on all \(hosts) ranks"), result.output)
            XCTAssertEqual(losses(result.output), losses(single.output), "\(hosts) namespace hosts vs one process")
        }
        let leftovers = try run("/usr/bin/env", ["ip", "netns", "list"])
        XCTAssertFalse(leftovers.output.contains("dn"), "namespaces left behind: \(leftovers.output)")
    }
}
