import Foundation
import XCTest

/// `launch/install --prefix DIR` puts a self-contained dae-dist in DIR/bin, and then
/// `mpirun -n 4 dae-dist ...` works as typed, with nothing but PATH pointing at it.
final class InstallTests: XCTestCase {
    private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func testInstalledBinaryRunsUnderMPIAsTyped() throws {
        let mpirun = try MPIRun.mpirunPath()
        let prefix = NSTemporaryDirectory() + "dae-install-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: prefix) }
        let installed = try Subprocess.run(root.appendingPathComponent("launch/install").path, ["--prefix", prefix], directory: root)
        XCTAssertEqual(installed.status, 0, installed.output)
        let binary = prefix + "/bin/dae-dist"
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: binary), installed.output)

        // No Swift runtime from the toolchain: the binary carries its own.
        let libraries = try Subprocess.run("/usr/bin/env", ["ldd", binary])
        XCTAssertFalse(libraries.output.contains("libswiftCore") || libraries.output.contains("libFoundation.so"), libraries.output)

        let path = prefix + "/bin:" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin")
        let environment = ["PATH": path, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
                           "OMPI_MCA_mpi_yield_when_idle": "1"]
        let run = try Subprocess.run(mpirun, ["-n", "4", "--oversubscribe", "dae-dist", "selftest", "collectives"], environment: environment)
        XCTAssertEqual(run.status, 0, run.output)
        for rank in 0..<4 { XCTAssertTrue(run.output.contains("collectives ok on rank \(rank) of 4"), run.output) }
    }
}
