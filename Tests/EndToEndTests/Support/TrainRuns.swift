import DAECore
import Foundation
import XCTest

/// What the `dae-dist train` tests share.
enum TrainRuns {
    /// A small synthetic run: 1,200 training images, batch 48 (25 steps per epoch).
    static let small = ["--dataset", "synthetic", "--synthetic-size", "1400", "--val-size", "200", "--batch-size", "48", "--log-every", "5"]

    /// The float32 tensors of a safetensors file, by name.
    static func tensors(_ path: String) throws -> [String: [Float]] {
        let file = try SafeTensors.read(path: path)
        var out: [String: [Float]] = [:]
        for (name, entry) in file.entries where entry.dtype == .float32 { out[name] = try file.floats(name) }
        return out
    }
}

extension XCTestCase {
    /// A fresh folder path, removed after the test.
    func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "dae-train-\(UUID().uuidString)"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    /// Runs the binary directly (one rank, no mpirun).
    func runDirect(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try Subprocess.run(MPIRun.executable, arguments)
    }
}
