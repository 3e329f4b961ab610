import DAECore
import Foundation

/// `metrics.jsonl`: one JSON object per line, written and flushed line by line (a crashed
/// run keeps every line it logged), keys in the order given. Rank 0 only. The file never keeps
/// a partial line: a failed append is cut back to the last whole line, and a file that ends
/// in one (a disk that filled under an earlier run) is cut back before this run appends.
public final class MetricsLog {
    public let path: String
    private let handle: FileHandle

    public init(path: String) throws {
        self.path = path
        // Appended to as the shell's >> would: a file, or a device such as /dev/null; a FIFO
        // (whose open would wait for a reader), a socket or a folder is refused.
        var status = stat()
        if stat(path, &status) == 0 {
            if status.st_mode & S_IFMT != S_IFCHR, let kind = FileKind.notAFile(status.st_mode) {
                throw TrainingError.cannotWrite(path: path, reason: kind)
            }
        } else {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
        }
        guard let handle = FileHandle(forUpdatingAtPath: path) else {
            throw TrainingError.cannotWrite(path: path, reason: "cannot open for writing")
        }
        self.handle = handle
        let end = handle.seekToEndOfFile()
        try cutToWholeLines(end: end)
    }

    /// Cuts the file back after its last newline when it does not end in one.
    private func cutToWholeLines(end: UInt64) throws {
        guard end > 0 else { return }
        var position = end
        let chunk: UInt64 = 1 << 16
        while position > 0 {
            let start = position > chunk ? position - chunk : 0
            try? handle.seek(toOffset: start)
            let bytes = handle.readData(ofLength: Int(position - start))
            if let newline = bytes.lastIndex(of: UInt8(ascii: "\n")) {
                let keep = start + UInt64(newline - bytes.startIndex) + 1
                if keep < end { try truncate(at: keep) }
                break
            }
            position = start
            if position == 0 { try truncate(at: 0) }
        }
        handle.seekToEndOfFile()
    }

    private func truncate(at offset: UInt64) throws {
        do { try handle.truncate(atOffset: offset) } catch {
            throw TrainingError.cannotWrite(path: path, reason: "cannot cut a partial line off it (\(Self.reason(error)))")
        }
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
        let before = handle.offsetInFile
        do { try handle.write(contentsOf: Data((line + "\n").utf8)) } catch {
            try? handle.truncate(atOffset: before)  // no partial line left behind
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
