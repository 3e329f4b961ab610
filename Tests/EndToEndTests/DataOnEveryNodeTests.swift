import Foundation
import LoopbackMirror
import XCTest

/// The data of hosts that share no file system: the first rank of each node fetches what its
/// node lacks, and a rank still without the files names its host.
final class DataOnEveryNodeTests: XCTestCase {
    private let shared = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data").path

    /// A data folder holding mnist-mini's training files only.
    private func trainingFilesOnly() throws -> String {
        let mini = shared + "/mnist-mini"
        guard FileManager.default.fileExists(atPath: mini + "/train-images-idx3-ubyte.gz") else {
            throw XCTSkip("\(mini) is absent; skipping the per-node data test")
        }
        let folder = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for file in ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"] {
            try FileManager.default.copyItem(atPath: mini + "/" + file, toPath: folder + "/" + file)
        }
        return folder
    }

    /// The official t10k files (MD5 as published) over loopback HTTP, for as long as the test runs.
    private func mirror() throws -> String {
        let t10k = shared + "/mnist-t10k"
        guard FileManager.default.fileExists(atPath: t10k + "/t10k-images-idx3-ubyte.gz") else { throw XCTSkip("\(t10k) is absent") }
        guard let mirror = LoopbackMirror(serving: t10k) else { throw XCTSkip("could not start a loopback HTTP server (python3)") }
        addTeardownBlock { mirror.stop() }
        return mirror.base
    }

    func testTheFirstRankOfTheNodeDownloadsWhatItLacks() throws {
        let folder = try trainingFilesOnly(), address = try mirror()
        let result = try MPIRun.run(ranks: 2, ["train", "--data-dir", folder, "--mirror", address, "--val-size", "1000", "--max-steps", "2",
                                               "--log-every", "1", "--out-dir", temporaryDirectory()], deadline: 300)
        XCTAssertEqual(result.status, 0, result.output)
        let saved = result.output.split(separator: "\n").filter { $0.contains("saved") && $0.contains("MD5 verified") }
        XCTAssertEqual(saved.count, 2, "each missing file fetched once, by one rank: \(result.output)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/t10k-images-idx3-ubyte.gz"))
    }

    func testARankWithoutTheFilesNamesItsHost() throws {
        let folder = try trainingFilesOnly()
        let result = try MPIRun.run(ranks: 2, ["train", "--data-dir", folder, "--no-download", "--val-size", "1000", "--max-steps", "2",
                                               "--out-dir", temporaryDirectory()], deadline: 120)
        XCTAssertNotEqual(result.status, 0, result.output)
        let host = ProcessInfo.processInfo.hostName
        for rank in 0..<2 {
            XCTAssertTrue(result.output.contains("rank \(rank) on \(host) is missing MNIST files in \(folder)"), result.output)
        }
    }
}
