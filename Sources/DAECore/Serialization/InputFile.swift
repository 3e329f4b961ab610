import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every path the program reads, checked to be a regular file before anything reads it: a
/// named pipe would block `open` forever, a device never ends, a folder or a link loop gives
/// an unhelpful system message. One wording per case (`Refusal.reason`).
public enum InputFile {
    public struct Refusal: Error, CustomStringConvertible, Equatable {
        public let path: String
        public let reason: String
        /// Nothing is at the path (as opposed to something that is not a readable file).
        public let missing: Bool
        public var description: String { "\(path): \(reason)" }
    }

    /// The size of the regular file at `path` (links followed), or why it is not one.
    @discardableResult
    public static func check(_ path: String) throws(Refusal) -> Int {
        var status = stat()
        guard !path.isEmpty else { throw Refusal(path: path, reason: "an empty path", missing: true) }
        guard stat(path, &status) == 0 else { throw refusal(path, errno: errno) }
        try requireRegular(path, mode: status.st_mode)
        return Int(status.st_size)
    }

    /// An open descriptor of the regular file at `path`, for reading. It is opened without
    /// blocking (a FIFO that appears after `check` cannot hold it) and checked again once open.
    public static func open(_ path: String) throws(Refusal) -> Int32 {
        try check(path)
        let descriptor = Foundation.open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { throw refusal(path, errno: errno) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            let error = errno
            close(descriptor)
            throw refusal(path, errno: error)
        }
        do { try requireRegular(path, mode: status.st_mode) } catch {
            close(descriptor)
            throw error
        }
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK)
        return descriptor
    }

    /// The whole file at `path`, refused when it is larger than `limit` bytes (before any is read).
    public static func read(_ path: String, limit: Int) throws(Refusal) -> Data {
        let descriptor = try open(path)
        defer { close(descriptor) }
        var status = stat()
        _ = fstat(descriptor, &status)
        let size = Int(status.st_size)
        guard size <= limit else {
            throw Refusal(path: path, reason: "is \(size) bytes, more than the \(limit) this reads", missing: false)
        }
        var data = Data(count: size)
        var offset = 0
        var failure: Int32 = 0
        data.withUnsafeMutableBytes { bytes in
            while offset < size {
                let count = Foundation.read(descriptor, bytes.baseAddress! + offset, size - offset)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { failure = count < 0 ? errno : 0; return }
                offset += count
            }
        }
        guard offset == size else {
            throw Refusal(path: path, reason: failure != 0 ? String(cString: strerror(failure)) : "it shrank while being read", missing: false)
        }
        return data
    }

    private static func requireRegular(_ path: String, mode: mode_t) throws(Refusal) {
        if let kind = FileKind.notAFile(mode) { throw Refusal(path: path, reason: kind, missing: false) }
    }

    private static func refusal(_ path: String, errno error: Int32) -> Refusal {
        switch error {
        case ENOENT: return Refusal(path: path, reason: "no such file", missing: true)
        case ELOOP: return Refusal(path: path, reason: "its symbolic links form a loop", missing: false)
        case ENOTDIR: return Refusal(path: path, reason: "a part of its path is not a folder", missing: true)
        case EACCES: return Refusal(path: path, reason: "permission denied: this user may not read it", missing: false)
        default: return Refusal(path: path, reason: String(cString: strerror(error)), missing: false)
        }
    }
}
