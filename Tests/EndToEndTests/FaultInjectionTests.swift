import Foundation
import XCTest

/// `bench/faults.sh`: hostile files, flags, checkpoints, disks, servers, a busy run
/// directory, killed and stopped ranks and signals, each checked for its exit status, message
/// and time to exit. Its table is printed into the test log.
final class FaultInjectionTests: XCTestCase {
    func testEveryFaultGivesTheExpectedOutcome() throws {
        _ = try MPIRun.mpirunPath()
        let paths = ["/usr/bin", "/usr/local/bin"] + (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        guard paths.contains(where: { FileManager.default.isExecutableFile(atPath: $0 + "/python3") }) else {
            throw XCTSkip("python3 is not installed; bench/faults.sh needs it to craft its files and servers")
        }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("bench/faults.sh").path
        let (status, output) = try Subprocess.run("/bin/bash", [script], environment: ["DAE_DIST_BINARY": MPIRun.executable])
        print(output)
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("every fault gave the expected outcome"), output)
    }
}
