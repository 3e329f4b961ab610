import DAECore
import Foundation
import XCTest

/// The GEMM library runs a kernel as wide as the CPU (CPUID) supports, however dae-dist is
/// started, and an explicit `OPENBLAS_CORETYPE` wins. Would have failed on an Intel Xeon of
/// family 6 model 207, where Debian's OpenBLAS 0.3.21 picks its SSE3 "Prescott" kernel.
final class GEMMKernelTests: XCTestCase {
    /// The JSON lines of `dae-dist selftest gemm` (one per rank), alone (`ranks` nil) or under
    /// mpirun, with `environment` added (an empty `OPENBLAS_CORETYPE` counts as unset).
    private func report(ranks: Int?, environment: [String: String]) throws -> [[String: Any]] {
        let (status, output): (Int32, String)
        if let ranks {
            let result = try MPIRun.run(ranks: ranks, ["selftest", "gemm"], deadline: 60, environment: environment)
            (status, output) = (result.status, result.output)
        } else {
            (status, output) = try Subprocess.run(MPIRun.executable, ["selftest", "gemm"], environment: environment)
        }
        XCTAssertEqual(status, 0, output)
        return output.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    private func machine(_ line: [String: Any]) -> [String: Any] { line["machine"] as? [String: Any] ?? [:] }
    private func gemm(_ line: [String: Any]) -> [String: Any] { machine(line)["gemm"] as? [String: Any] ?? [:] }

    func testKernelIsAsWideAsTheCPUInProcess() throws {
        let library = BLAS.library
        if case .user(let setting) = library.chosenBy { throw XCTSkip("\(setting) is set in this environment: the user's choice is what runs") }
        XCTAssertGreaterThanOrEqual(library.isa, CPU.isa,
                                    "\(library.description) on \(CPU.model), which supports \(CPU.isa.name)")
        XCTAssertNil(library.narrowerThanCPUWarning)
    }

    func testKernelIsAsWideAsTheCPUAloneAndUnderMPI() throws {
        for ranks in [nil, 2] as [Int?] {
            let lines = try report(ranks: ranks, environment: ["OPENBLAS_CORETYPE": ""])
            XCTAssertEqual(lines.count, ranks ?? 1, "one line per rank")
            for line in lines {
                XCTAssertEqual(line["narrower_than_cpu"] as? Bool, false, "\(line)")
                XCTAssertEqual(machine(line)["cpu_isa"] as? String, CPU.isa.name)
                XCTAssertEqual(line["product_error"] as? Double, 0)
                if CPU.isa >= .avx { XCTAssertEqual(gemm(line)["chosen_by"] as? String, "cpu_features", "\(line)") }
            }
        }
    }

    func testExplicitCoreTypeWins() throws {
        let lines = try report(ranks: nil, environment: ["OPENBLAS_CORETYPE": "Prescott"])
        let line = try XCTUnwrap(lines.first)
        XCTAssertEqual(gemm(line)["kernel"] as? String, "Prescott")
        XCTAssertEqual(gemm(line)["chosen_by"] as? String, "OPENBLAS_CORETYPE=Prescott")
        XCTAssertEqual(line["product_error"] as? Double, 0)
        XCTAssertEqual(line["narrower_than_cpu"] as? Bool, CPU.isa > .baseline)
    }
}
