import DAEData
import Foundation
import LoopbackMirror
import XCTest

/// Checksum-verified download against a loopback HTTP server serving the official files.
final class DownloadTests: XCTestCase {
    func testMD5KnownAnswers() {
        XCTAssertEqual(MD5.hex([UInt8]()), "d41d8cd98f00b204e9800998ecf8427e")
        XCTAssertEqual(MD5.hex(Array("abc".utf8)), "900150983cd24fb0d6963f7d28e17f72")
        XCTAssertEqual(MD5.hex(Array(String(repeating: "a", count: 1000).utf8)), "cabe45dcc9ae5b66ba86600cca6b8ba8")
    }

    /// A loopback mirror of `directory`, stopped after the test; skipped when python3 is absent.
    private func serve(_ directory: String) throws -> (server: LoopbackMirror, base: String) {
        guard let mirror = LoopbackMirror(serving: directory) else { throw XCTSkip("could not start a loopback HTTP server (python3)") }
        addTeardownBlock { mirror.stop() }
        return (mirror, mirror.base)
    }

    private func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "dae-download-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    private let files = ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "train-labels-idx1-ubyte.gz"]

    func testDownloadsAndVerifiesTheOfficialFiles() throws {
        let official = TestShared.path("data/mnist-t10k")
        guard FileManager.default.fileExists(atPath: official) else { throw XCTSkip("\(official) is absent; skipping") }
        let (server, base) = try serve(official)
        defer { server.stop() }
        let destination = try temporaryDirectory()
        // The first mirror is dead: the downloader moves on to the next.
        var log: [String] = []
        try MNISTDownloader(mirrors: ["http://127.0.0.1:9/", base], timeout: 5).download(into: destination, files: files) { log.append($0) }
        XCTAssertTrue(log.contains { $0.contains("127.0.0.1:9") }, "\(log)")
        for file in files {
            let data = try Data(contentsOf: URL(fileURLWithPath: destination + "/" + file))
            XCTAssertEqual(MD5.hex(data), MNISTDownloader.checksums[file], file)
        }
        let test = try Digits.load(dataDir: destination, split: .test)
        XCTAssertEqual(test.count, 10_000)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: destination).sorted(), files.sorted(), "no temporary files left")
    }

    /// A data folder that cannot be made is named with the system's reason, before any request.
    func testAnUncreatableDataDirIsNamedWithTheReason() throws {
        let file = try temporaryDirectory() + "/a-file"
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data([1])))
        XCTAssertThrowsError(try MNISTDownloader(mirrors: ["http://127.0.0.1:9/"], timeout: 1).download(into: file + "/mnist")) { error in
            let message = "\(error)"
            guard case .invalidSetting(.dataDir, _)? = error as? DataError else { return XCTFail(message) }
            XCTAssertTrue(message.contains(file + "/mnist") && message.contains(file + " exists and is not a folder"), message)
        }
    }

    /// A loopback server that misbehaves: `drip` sends a 200 with one body byte every half
    /// second, `endless` sends zeros without end. Skipped when python3 is absent.
    private func misbehavingServer(_ mode: String) throws -> (process: Process, base: String) {
        guard let python = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":").map({ "\($0)/python3" })
            .first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else { throw XCTSkip("python3 is not installed") }
        let script = """
        import socket, sys, time
        server = socket.socket(); server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0)); server.listen(8)
        print(server.getsockname()[1], flush=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            connection, _ = server.accept()
            try:
                connection.recv(65536)
                if sys.argv[1] == "drip":
                    connection.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Length: 4542\\r\\n\\r\\n")
                    for _ in range(120):
                        connection.sendall(b"x"); time.sleep(0.5)
                else:
                    connection.sendall(b"HTTP/1.1 200 OK\\r\\n\\r\\n")
                    chunk = bytes(1 << 16)
                    while time.time() < deadline:
                        connection.sendall(chunk)
            except OSError:
                pass
            connection.close()
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script, mode]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let port = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard Int(port) != nil else {
            process.terminate()
            throw XCTSkip("the loopback server did not start")
        }
        return (process, "http://127.0.0.1:\(port)/")
    }

    /// A server that drips its bytes is cut off at --timeout for the whole file; one that
    /// sends without end is cut off at the file's published size (given a deadline long enough
    /// that a busy machine's slow server cannot reach it first). Both leave nothing behind.
    func testSlowAndEndlessServersAreCutOff() throws {
        let file = "t10k-labels-idx1-ubyte.gz"
        for (mode, timeout, words) in [("drip", 2.0, "timed out after 2 s"), ("endless", 30.0, "more than the 4542 bytes")] {
            let (server, base) = try misbehavingServer(mode)
            defer { server.terminate() }
            let destination = try temporaryDirectory()
            let start = Date()
            XCTAssertThrowsError(try MNISTDownloader(mirrors: [base], timeout: timeout).download(into: destination, files: [file])) { error in
                XCTAssertTrue("\(error)".contains(words), "\(mode): \(error)")
            }
            XCTAssertLessThan(Date().timeIntervalSince(start), timeout + 8, "\(mode): bounded by the deadline or the size, not by the server")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: destination), [], "\(mode): nothing left behind")
        }
    }

    func testACorruptedCopyIsRejectedAndLeavesNothing() throws {
        let official = TestShared.path("data/mnist-t10k")
        guard FileManager.default.fileExists(atPath: official) else { throw XCTSkip("\(official) is absent; skipping") }
        let corrupted = try temporaryDirectory()
        var data = try Data(contentsOf: URL(fileURLWithPath: official + "/t10k-labels-idx1-ubyte.gz"))
        data[data.count / 2] ^= 0xFF
        FileManager.default.createFile(atPath: corrupted + "/t10k-labels-idx1-ubyte.gz", contents: data)
        let (server, base) = try serve(corrupted)
        defer { server.stop() }
        let destination = try temporaryDirectory()
        XCTAssertThrowsError(try MNISTDownloader(mirrors: [base], timeout: 5).download(into: destination, files: ["t10k-labels-idx1-ubyte.gz"])) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("checksum mismatch") && message.contains("--data-dir") && message.contains("synthetic"), message)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: destination), [], "nothing left behind")
    }
}
