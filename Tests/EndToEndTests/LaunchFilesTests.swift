import Foundation
import XCTest

/// The launch files, checked without a Docker engine or Slurm: the compose file's structure and
/// that everything it names exists, the scripts' syntax, and that no private key is committed.
/// (launch/compose-test, run by launch/test, brings the compose cluster up for real where Docker
/// can run.)
final class LaunchFilesTests: XCTestCase {
    private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    private func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try Subprocess.run("/usr/bin/env", arguments, directory: root)
    }

    func testComposeFileDescribesTheCluster() throws {
        // docker-compose.yml as JSON, through PyYAML (skipped without it).
        let converted = try run(["python3", "-c", "import json, yaml; print(json.dumps(yaml.safe_load(open('docker-compose.yml'))))"])
        guard converted.status == 0 else { throw XCTSkip("python3 with PyYAML is not available; skipping the compose check: \(converted.output)") }
        let compose = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(converted.output.utf8)) as? [String: Any])
        let services = try XCTUnwrap(compose["services"] as? [String: [String: Any]])
        let workers = ["worker1", "worker2", "worker3", "worker4"]
        XCTAssertEqual(Set(services.keys), Set(workers + ["launcher"]))
        let entrypoint = try String(contentsOf: root.appendingPathComponent("launch/docker/entrypoint"), encoding: .utf8)
        for (name, service) in services {
            let build = try XCTUnwrap(service["build"] as? [String: Any], name)
            let dockerfile = try XCTUnwrap(build["dockerfile"] as? String)
            XCTAssertTrue(FileManager.default.fileExists(atPath: root.appendingPathComponent(dockerfile).path), dockerfile)
            XCTAssertEqual(service["networks"] as? [String], ["cluster"], name)
            XCTAssertEqual(Set(service["volumes"] as? [String] ?? []), ["keys:/keys", "${DATA_DIR:-data}:/data", "${RUNS_DIR:-./runs}:/runs"], name)
            let role = try XCTUnwrap((service["environment"] as? [String: Any])?["ROLE"] as? String, name)
            XCTAssertTrue(entrypoint.contains("\n\(role))"), "the entrypoint handles '\(role)'")
        }
        let launcher = services["launcher"]!
        XCTAssertEqual(Set(launcher["depends_on"] as? [String] ?? []), Set(workers))
        let environment = try XCTUnwrap(launcher["environment"] as? [String: Any])
        XCTAssertEqual(environment["HOSTS"] as? String, workers.joined(separator: ","))
        XCTAssertNotNil((compose["networks"] as? [String: Any])?["cluster"])
        XCTAssertEqual(Set((compose["volumes"] as? [String: Any])?.keys.map { $0 } ?? []), ["keys", "data"])

        // Everything the Dockerfile copies from the checkout exists; its entrypoint is the one copied.
        let dockerfile = try String(contentsOf: root.appendingPathComponent("launch/docker/Dockerfile"), encoding: .utf8)
        for line in dockerfile.split(separator: "\n") where line.hasPrefix("COPY ") && !line.contains("--from") {
            let parts = line.split(separator: " ")
            for source in parts[1..<(parts.count - 1)] {
                XCTAssertTrue(FileManager.default.fileExists(atPath: root.appendingPathComponent(String(source)).path), "COPY \(source)")
            }
        }
        XCTAssertTrue(dockerfile.contains("COPY launch/docker/entrypoint /opt/dae-dist/entrypoint"))
        XCTAssertTrue(dockerfile.contains(#"ENTRYPOINT ["/opt/dae-dist/entrypoint"]"#))
        XCTAssertTrue(dockerfile.contains("ARG SWIFT_IMAGE=swift:"), "built on an official Swift image by default")
        XCTAssertTrue(dockerfile.contains("FROM ${SWIFT_IMAGE} AS build"))
    }

    func testScriptsParseAndNoPrivateKeyIsCommitted() throws {
        for script in ["launch/train", "launch/test", "launch/compose-test", "launch/install-deps", "launch/python-env", "launch/slurm.sbatch", "launch/slurm-test", "launch/docker/entrypoint", ".ci/run", "bench/scaling.sh", "bench/learning_quality.sh", "bench/one_class.sh", "bench/faults.sh"] {
            let checked = try run(["bash", "-n", script])
            XCTAssertEqual(checked.status, 0, "\(script): \(checked.output)")
        }
        let tracked = try run(["git", "grep", "-l", "PRIVATE KEY", "--", ".", ":!Tests/EndToEndTests/LaunchFilesTests.swift"])
        guard !tracked.output.contains("not a git repository") else { throw XCTSkip("not a git checkout") }
        XCTAssertEqual(tracked.output.trimmingCharacters(in: .whitespacesAndNewlines), "", "private keys committed")
    }
}
