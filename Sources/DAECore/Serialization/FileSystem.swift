import Foundation
#if canImport(Glibc)
import Glibc
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
import Darwin
private let systemWrite = Darwin.write
#endif

/// Writes a file so that readers see the old content or the new, never a part: a temporary
/// file in the same folder, fsync, rename, fsync of the folder. A symbolic link at `path` is
/// written through, to its target, as the shell's `>` does; a folder, device, FIFO or socket
/// there is refused, never replaced.
public enum AtomicFile {
    public static func write(_ data: Data, to givenPath: String) throws {
        let path = try target(of: givenPath)
        let directory = (path as NSString).deletingLastPathComponent
        let temporary = (directory.isEmpty ? "." : directory) + "/.\((path as NSString).lastPathComponent).tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw AtomicFileError(path: path, reason: String(cString: strerror(errno))) }
        var failure: String?
        data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = systemWrite(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if written <= 0 { failure = String(cString: strerror(errno)); return }
                offset += written
            }
        }
        if failure == nil && fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
        close(fd)
        if failure == nil && rename(temporary, path) != 0 { failure = String(cString: strerror(errno)) }
        if let failure {
            unlink(temporary)
            throw AtomicFileError(path: path, reason: failure)
        }
        let dirfd = open(directory.isEmpty ? "." : directory, O_RDONLY)
        if dirfd >= 0 { fsync(dirfd); close(dirfd) }
    }

    /// The file a write to `path` replaces: `path`, or where its links lead; refused when that
    /// is something other than a regular file (or nothing yet).
    static func target(of path: String) throws -> String {
        func refuse(_ why: String) -> AtomicFileError { AtomicFileError(path: path, reason: why) }
        guard !path.isEmpty else { throw refuse("an empty path") }
        var resolved = path
        for _ in 0..<40 {  // the kernel's own bound on links in a path
            var status = stat()
            guard lstat(resolved, &status) == 0 else { return resolved }  // nothing there yet: a new file
            switch status.st_mode & S_IFMT {
            case S_IFREG: return resolved
            case S_IFLNK:
                var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let count = readlink(resolved, &buffer, buffer.count - 1)
                guard count > 0 else { throw refuse("its link cannot be read (\(String(cString: strerror(errno))))") }
                let link = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                resolved = link.hasPrefix("/") ? link : ((resolved as NSString).deletingLastPathComponent as NSString).appendingPathComponent(link)
            default: throw refuse(FileKind.notAFile(status.st_mode) ?? "is not a regular file")
            }
        }
        throw refuse("its symbolic links form a loop")
    }
}

/// What a path is when it is not a regular file, in the words every message uses (nil for a
/// regular file): for reading (`InputFile`) and writing (`AtomicFile`, the metrics log).
public enum FileKind {
    public static func notAFile(_ mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFDIR: return "is a folder, not a file"
        case S_IFIFO: return "is a named pipe (FIFO), not a file"
        case S_IFCHR, S_IFBLK: return "is a device, not a file"
        case S_IFSOCK: return "is a socket, not a file"
        case S_IFLNK: return "is a symbolic link"
        default: return "is not a regular file"
        }
    }
}

public struct AtomicFileError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "\(path): could not be written (\(reason)); nothing was replaced." }
}

/// `mkdir -p`: creates a folder and its missing parents. Failures carry the system's reason
/// ("Permission denied", "Read-only file system"), where Foundation's would say only that
/// "the file doesn't exist".
public enum Directories {
    public static func create(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            guard mkdir(prefix, 0o755) != 0 else { continue }
            let error = errno
            var status = stat()
            if error == EEXIST && stat(prefix, &status) == 0 {
                if (status.st_mode & S_IFMT) == S_IFDIR { continue }
                throw DirectoryError(path: path, reason: "\(prefix) exists and is not a folder")
            }
            throw DirectoryError(path: path, reason: String(cString: strerror(error)))
        }
    }
}

public struct DirectoryError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "\(path): cannot create this folder (\(reason))." }
}
