import CHTTP
import DAECore
import Foundation

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

    /// The published files' sizes in bytes: a download that grows past its file's size is
    /// cut off there (an endless or wrong body costs at most that much memory).
    public static let sizes: [String: Int] = [
        "train-images-idx3-ubyte.gz": 9_912_422,
        "train-labels-idx1-ubyte.gz": 28_881,
        "t10k-images-idx3-ubyte.gz": 1_648_877,
        "t10k-labels-idx1-ubyte.gz": 4_542,
    ]

    public static let allFiles = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                  "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]

    public var mirrors: [String]
    /// Seconds one file's transfer may take from request to last byte, however the bytes
    /// arrive (a server that drips them slowly is cut off too).
    public var timeout: TimeInterval

    public init(mirrors: [String] = MNISTDownloader.defaultMirrors, timeout: TimeInterval = 60) {
        self.mirrors = mirrors
        self.timeout = timeout
    }

    /// Downloads every file of `files` that is not already in `dataDir`. `log` hears progress.
    public func download(into dataDir: String, files: [String] = MNISTDownloader.allFiles,
                         log: (String) -> Void = { _ in }) throws {
        do { try Directories.create(dataDir) } catch {
            throw DataError.invalidSetting(.dataDir, reason: "\(error) Choose a folder you can write to, or put the MNIST files there yourself.")
        }
        for file in files {
            let destination = (dataDir as NSString).appendingPathComponent(file)
            if FileManager.default.fileExists(atPath: destination) { continue }
            guard let expected = Self.checksums[file], let size = Self.sizes[file] else {
                throw DataError.invalidSetting(.files, reason: "\(file) is not an MNIST file")
            }
            var attempts: [String] = []
            var done = false
            for mirror in mirrors where !done {
                let url = mirror.hasSuffix("/") ? mirror + file : mirror + "/" + file
                log("downloading \(url)")
                do {
                    let data = try fetch(url, limit: size)
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

    /// Temporary file, checksum, fsync, rename. The temporary name carries the host as well as
    /// the process: nodes that share the data folder (containers on one volume, an NFS home)
    /// can have downloaders with the same process id.
    func store(_ data: Data, at destination: String, url: String, expectedMD5: String) throws {
        let process = ProcessInfo.processInfo
        let temporary = destination + ".partial-\(process.hostName)-\(process.processIdentifier)"
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

    /// Whether `address` answers a GET at all (used to wait for a server to come up).
    public func probe(_ address: String) throws -> Bool {
        _ = try fetch(address, limit: 1 << 20)
        return true
    }

    /// One GET of at most `limit` bytes, within `timeout` seconds in all; non-2xx statuses are
    /// errors. libcurl takes the body in its own thread and the first byte past `limit` aborts
    /// the transfer there (see CHTTP), so memory and time stay bounded whatever the server does.
    func fetch(_ address: String, limit: Int) throws -> Data {
        guard URL(string: address) != nil else { throw DataError.invalidSetting(.mirror, reason: "\(address) is not a URL") }
        var result = dae_http_result()
        let outcome = dae_http_get(address, limit, timeout, &result)
        defer { dae_http_free(&result) }
        func fail(_ reason: String) -> DataError { .unreadable(path: address, reason: reason) }
        switch Int(outcome) {
        case Int(DAE_HTTP_OK):
            return result.data.map { Data(bytes: $0, count: result.size) } ?? Data()
        case Int(DAE_HTTP_TOO_LARGE):
            throw fail("the server sent more than the \(limit) bytes this file has; stopped there")
        case Int(DAE_HTTP_TIMED_OUT):
            throw fail("timed out after \(Self.seconds(timeout)) s (--timeout)")
        case Int(DAE_HTTP_STATUS):
            throw fail("HTTP status \(result.status)")
        default:
            let message = withUnsafeBytes(of: result.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            throw fail(message)
        }
    }

    static func seconds(_ value: TimeInterval) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}
