import DAECore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Fetches the MNIST files from the public mirrors, trying each in turn. A file is written to
/// a temporary name beside its destination, checked against MNIST's published MD5, synced and
/// only then renamed into place, so a failed or partial download never replaces or poses as a
/// good file.
public struct MNISTDownloader: Sendable {
    /// Base URLs, each holding the four `*-ubyte.gz` files.
    public static let defaultMirrors = [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ]

    /// The published MD5 sums of the four files.
    public static let checksums: [String: String] = [
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    ]

    public static let allFiles = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                  "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]

    public var mirrors: [String]
    public var timeout: TimeInterval

    public init(mirrors: [String] = MNISTDownloader.defaultMirrors, timeout: TimeInterval = 60) {
        self.mirrors = mirrors
        self.timeout = timeout
    }

    /// Downloads every file of `files` that is not already in `dataDir`. `log` hears progress.
    public func download(into dataDir: String, files: [String] = MNISTDownloader.allFiles,
                         log: (String) -> Void = { _ in }) throws {
        do { try Directories.create(dataDir) } catch {
            throw DataError.invalidSetting(flag: "--data-dir", reason: "\(error) Choose a folder you can write to, or put the MNIST files there yourself.")
        }
        for file in files {
            let destination = (dataDir as NSString).appendingPathComponent(file)
            if FileManager.default.fileExists(atPath: destination) { continue }
            guard let expected = Self.checksums[file] else {
                throw DataError.invalidSetting(flag: "download", reason: "\(file) is not an MNIST file")
            }
            var attempts: [String] = []
            var done = false
            for mirror in mirrors where !done {
                let url = mirror.hasSuffix("/") ? mirror + file : mirror + "/" + file
                log("downloading \(url)")
                do {
                    let data = try fetch(url)
                    try store(data, at: destination, url: url, expectedMD5: expected)
                    log("saved \(destination) (\(data.count) bytes, MD5 verified)")
                    done = true
                } catch let error as DataError {
                    attempts.append("\(error)")  // names the URL itself
                } catch {
                    attempts.append("\(url): \(error.localizedDescription)")
                }
            }
            if !done { throw DataError.downloadFailed(file: file, attempts: attempts, dataDir: dataDir) }
        }
    }

    /// Temporary file, checksum, fsync, rename.
    func store(_ data: Data, at destination: String, url: String, expectedMD5: String) throws {
        let temporary = destination + ".partial-\(ProcessInfo.processInfo.processIdentifier)"
        defer { try? FileManager.default.removeItem(atPath: temporary) }
        guard FileManager.default.createFile(atPath: temporary, contents: data),
              let handle = FileHandle(forUpdatingAtPath: temporary) else {
            throw DataError.unreadable(path: temporary, reason: "cannot write the download")
        }
        try handle.synchronize()
        try handle.close()
        let written = try Data(contentsOf: URL(fileURLWithPath: temporary))
        let actual = MD5.hex(written)
        guard actual == expectedMD5 else { throw DataError.checksumMismatch(url: url, expected: expectedMD5, actual: actual) }
        guard rename(temporary, destination) == 0 else {
            throw DataError.unreadable(path: destination, reason: String(cString: strerror(errno)))
        }
    }

    private final class Result: @unchecked Sendable {
        var data: Data?
        var error: Error?
    }

    /// Whether `address` answers a GET at all (used to wait for a server to come up).
    public func probe(_ address: String) throws -> Bool {
        _ = try fetch(address)
        return true
    }

    /// One GET, with the configured timeout; non-2xx statuses are errors.
    func fetch(_ address: String) throws -> Data {
        guard let url = URL(string: address) else { throw DataError.invalidSetting(flag: "--mirror", reason: "\(address) is not a URL") }
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = timeout * 10
        let session = URLSession(configuration: configuration)
        defer { session.finishTasksAndInvalidate() }
        let result = Result()
        let finished = DispatchSemaphore(value: 0)
        session.dataTask(with: url) { data, response, error in
            if let error {
                result.error = error
            } else if let http = response as? HTTPURLResponse, !(200..<300).contains(http.statusCode) {
                result.error = DataError.unreadable(path: address, reason: "HTTP status \(http.statusCode)")
            } else {
                result.data = data
            }
            finished.signal()
        }.resume()
        finished.wait()
        if let error = result.error { throw error }
        return result.data ?? Data()
    }
}
