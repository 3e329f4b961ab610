import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One run per run directory: an exclusive `flock` on `<out-dir>/.lock`, held from the start
/// of a run to its end. The kernel drops it when the process ends however it ends, so a
/// killed run never blocks the next; the file keeps "host pid" of its last holder, which a
/// second run is refused with and a later run names when it takes over from a run that did
/// not end cleanly. Leftover temporary files of writes a killed run left (`AtomicFile`'s
/// `.<name>.tmp-<pid>`) are removed once the lock is held.
public final class RunDirectoryLock {
    public let path: String
    /// The holder a run that did not release the lock left in it ("host pid"), or nil.
    public let previousHolder: String?
    private var descriptor: Int32

    public init(directory: String) throws {
        path = (directory as NSString).appendingPathComponent(".lock")
        // Not through a link (it would truncate the link's target), and never blocking on a FIFO.
        descriptor = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            let reason = errno == ELOOP ? "is a symbolic link; the lock file must be a plain file (remove the link)" : String(cString: strerror(errno))
            throw TrainingError.cannotWrite(path: path, reason: reason)
        }
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            close(descriptor)
            throw TrainingError.cannotWrite(path: path, reason: "is not a plain file (remove it)")
        }
        let recorded = Self.contents(descriptor)
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw TrainingError.runDirectoryInUse(directory: directory, holder: recorded.isEmpty ? "another process" : recorded)
        }
        previousHolder = recorded.isEmpty ? nil : recorded
        let me = "\(ProcessInfo.processInfo.hostName) \(getpid())"
        _ = ftruncate(descriptor, 0)
        _ = me.withCString { pwrite(descriptor, $0, strlen($0), 0) }
        Self.removeTemporaryFiles(below: directory)
    }

    /// Ends the run's hold after a clean end (finished, or stopped with the state saved): the
    /// file is emptied, so the next run has nothing to take over, and the lock dropped.
    public func release() {
        guard descriptor >= 0 else { return }
        _ = ftruncate(descriptor, 0)
        close(descriptor)
        descriptor = -1
    }

    /// Any other end (an error) drops the lock but keeps the holder's name in the file: the
    /// next run says it takes over from a run that did not end cleanly.
    deinit { if descriptor >= 0 { close(descriptor) } }

    private static func contents(_ descriptor: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = pread(descriptor, &buffer, buffer.count, 0)
        return count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : ""
    }

    /// `.<name>.tmp-<pid>` files in the run directory and its `checkpoints` and `samples`.
    private static func removeTemporaryFiles(below directory: String) {
        for folder in [directory, directory + "/checkpoints", directory + "/samples"] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            where name.hasPrefix(".") && name.range(of: #"\.tmp-[0-9]+$"#, options: .regularExpression) != nil {
                unlink(folder + "/" + name)
            }
        }
    }
}
