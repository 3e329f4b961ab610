import DAECore
import Foundation

/// `metrics.jsonl`: one JSON object per line, written and flushed line by line (a crashed
/// run keeps every line it logged), keys in the order given. Rank 0 only.
public final class MetricsLog {
    public let path: String
    private let handle: FileHandle

    public init(path: String) throws {
        self.path = path
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw TrainingError.cannotWrite(path: path, reason: "cannot open for writing")
        }
        handle.seekToEndOfFile()
        self.handle = handle
    }

    deinit { try? handle.close() }

    /// Writes `fields` as one line. Values: numbers, strings, bools, nil, arrays and dictionaries
    /// of those. A failed write (a full disk, an I/O error) throws `cannotWrite`, naming the file.
    public func write(_ fields: KeyValuePairs<String, Any?>) throws {
        try write(line: JSON.encode(fields))
    }

    /// Writes an object whose keys are only known at run time.
    public func write(_ object: JSONObject) throws {
        try write(line: JSON.encode(object))
    }

    private func write(line: String) throws {
        do { try handle.write(contentsOf: Data((line + "\n").utf8)) } catch {
            throw TrainingError.cannotWrite(path: path, reason: "cannot append to it (\(Self.reason(error)))")
        }
    }

    /// The system's words for a write error ("No space left on device"), where it has them.
    static func reason(_ error: Error) -> String {
        let code = (error as NSError).code
        if (error as NSError).domain == NSPOSIXErrorDomain, code > 0 { return String(cString: strerror(Int32(code))) }
        if let posix = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError, posix.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(posix.code)))
        }
        return error.localizedDescription
    }
}
