import Foundation
import XCTest

/// `dae-dist bench` reports what `bench/compare.py` reads, alone and under `mpirun -n 2`.
/// Timings are printed, never asserted: this checks the report, not the machine.
final class BenchCommandTests: XCTestCase {
    private func lines(_ output: String) throws -> [[String: Any]] {
        try output.split(separator: "\n").filter { $0.hasPrefix("{") }.map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    private let quick = ["bench", "--batch-sizes", "8", "--threads", "1", "--warmup", "0", "--repeats", "1", "--steps", "1", "--json"]

    /// Compute threads confined to fewer processors (as mpirun's default binding confines a
    /// rank to one core) are warned about, naming the fix; threads that fit are not.
    func testWarnsWhenThreadsOutnumberTheProcessorsAllowed() throws {
        let taskset = "/usr/bin/taskset"
        guard FileManager.default.isExecutableFile(atPath: taskset) else { throw XCTSkip("taskset (util-linux) is not installed") }
        let twoThreads = ["bench", "--batch-sizes", "8", "--threads", "2", "--warmup", "0", "--repeats", "1", "--steps", "1", "--no-sgemm"]
        let confined = try Subprocess.run(taskset, ["-c", "0", MPIRun.executable] + twoThreads)
        XCTAssertEqual(confined.status, 0, confined.output)
        XCTAssertTrue(confined.output.contains("rank 0 runs --threads 2 on 1 processor(s)"), confined.output)
        XCTAssertTrue(confined.output.contains("--bind-to none"), confined.output)
        let fits = try Subprocess.run(taskset, ["-c", "0", MPIRun.executable] + quick)
        XCTAssertEqual(fits.status, 0, fits.output)
        // Only the threads warning is in question: another (a GEMM kernel narrower than the
        // CPU, where the environment sets OPENBLAS_CORETYPE) may be printed.
        XCTAssertFalse(fits.output.contains("runs --threads"), fits.output)
    }

    func testSingleProcessReportsStepAndRoofline() throws {
        let result = try Subprocess.run(MPIRun.executable, quick)
        XCTAssertEqual(result.status, 0, result.output)
        let reports = try lines(result.output)
        let step = try XCTUnwrap(reports.first { $0["impl"] as? String == "dae-dist" && $0["what"] == nil })
        // What ran, for every figure: the CPU, the GEMM library and kernel, the C kernels' build.
        let line = try XCTUnwrap(reports.first { $0["what"] as? String == "machine" })
        let machine = try XCTUnwrap(line["machine"] as? [String: Any]), gemm = try XCTUnwrap(machine["gemm"] as? [String: Any])
        for key in ["cpu", "cpu_isa", "kernels"] { XCTAssertFalse((machine[key] as? String ?? "").isEmpty, "\(key) missing: \(line)") }
        for key in ["library", "kernel", "isa", "chosen_by"] { XCTAssertFalse((gemm[key] as? String ?? "").isEmpty, "\(key) missing: \(line)") }
        XCTAssertNotNil(machine["cpu_family"] as? Int)
        #if os(Linux)
        XCTAssertEqual(gemm["library"] as? String, "OpenBLAS")
        XCTAssertTrue((gemm["version"] as? String ?? "").hasPrefix("0."), "\(line)")
        #endif
        XCTAssertEqual(step["ranks"] as? Int, 1)
        XCTAssertGreaterThan(step["images_per_sec"] as? Double ?? 0, 0)
        XCTAssertGreaterThan(step["peak_rss_mb"] as? Double ?? 0, 0)
        XCTAssertLessThan(step["comm_share"] as? Double ?? 1, 0.01, "one process: collectives are no-ops")
        // GFLOP/s is images/s times the step's FLOPs per image (67.4 M at latent 2).
        XCTAssertEqual((step["gflops"] as? Double ?? 0) / (step["images_per_sec"] as? Double ?? 1), 0.0674, accuracy: 0.0002)
        let products = try XCTUnwrap(reports.first { $0["what"] as? String == "sgemm-step-products" })
        // At least forward, weight gradient and input gradient of each of the 8 layers (the
        // first convolution has no input gradient).
        XCTAssertGreaterThanOrEqual(products["calls"] as? Int ?? 0, 3 * 8 - 1)
        XCTAssertGreaterThan(products["gflops"] as? Double ?? 0, 0)
        XCTAssertNotNil(reports.first { $0["what"] as? String == "sgemm-1024" })
    }

    /// `--layers` times the six convolutions alone, with their FLOPs; `--gemm-shapes` the
    /// step's products shape by shape, each shape's calls adding up to the whole step's.
    func testLayerAndShapeBreakdowns() throws {
        let result = try Subprocess.run(MPIRun.executable, quick + ["--layers", "--gemm-shapes"])
        XCTAssertEqual(result.status, 0, result.output)
        let reports = try lines(result.output)
        let layers = reports.filter { $0["what"] as? String == "layer" }
        XCTAssertEqual(layers.compactMap { $0["layer"] as? String }, ["conv1", "conv2", "conv3", "deconv1", "deconv2", "deconv3"])
        for layer in layers {
            XCTAssertGreaterThan(layer["forward_ms"] as? Double ?? 0, 0)
            XCTAssertGreaterThan(layer["backward_ms"] as? Double ?? 0, 0)
            XCTAssertGreaterThan(layer["gflops"] as? Double ?? 0, 0)
        }
        let shapes = reports.filter { $0["what"] as? String == "sgemm-shape" }
        let products = try XCTUnwrap(reports.first { $0["what"] as? String == "sgemm-step-products" })
        XCTAssertEqual(shapes.reduce(0) { $0 + ($1["calls"] as? Int ?? 0) }, products["calls"] as? Int)
    }

    func testTwoRanksReportCommunication() throws {
        let result = try MPIRun.run(ranks: 2, quick)
        XCTAssertEqual(result.status, 0, result.output)
        let reports = try lines(result.output)
        let steps = reports.filter { $0["what"] == nil }
        XCTAssertEqual(steps.count, 1, "rank 0 alone prints: \(result.output)")
        XCTAssertFalse(reports.contains { ($0["what"] as? String ?? "").hasPrefix("sgemm") }, "no roofline under MPI")
        XCTAssertEqual(steps[0]["ranks"] as? Int, 2)
        let share = try XCTUnwrap(steps[0]["comm_share"] as? Double)
        XCTAssertGreaterThan(share, 0)
        XCTAssertLessThan(share, 1)
        // Part of it in the blocking collectives (BatchNorm statistics, the loss), the rest in
        // the gradient buckets.
        let total = try XCTUnwrap(steps[0]["comm_ms_per_step"] as? Double)
        let blocking = try XCTUnwrap(steps[0]["comm_blocking_ms_per_step"] as? Double)
        XCTAssertGreaterThan(blocking, 0)
        XCTAssertLessThanOrEqual(blocking, total + 0.001)  // both printed to 3 decimals
    }
}
