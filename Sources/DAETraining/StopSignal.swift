#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SIGINT / SIGTERM / SIGHUP / SIGPIPE turned into a request that the training loop sees at
/// the next step boundary: the handler only sets a flag (all a signal handler may safely
/// do), and the flag travels with each step's loss all-reduce, so every rank learns of a
/// signal sent to any one of them in the same step and all stop together. SIGHUP (the
/// terminal closed) and SIGPIPE (stdout's reader is gone, as with `| head -1`) would
/// otherwise end the process on the spot with nothing saved; after a stop, writes to a
/// closed pipe fail quietly instead of killing the process.
public enum StopSignal {
    nonisolated(unsafe) private static var flag: sig_atomic_t = 0
    nonisolated(unsafe) private static var signalNumber: sig_atomic_t = 0

    public static var requested: Bool { flag != 0 }
    /// What stopped the run, as seen from this rank.
    public static var name: String {
        switch signalNumber {
        case SIGINT: return "SIGINT"
        case SIGTERM: return "SIGTERM"
        case SIGHUP: return "SIGHUP"
        case SIGPIPE: return "SIGPIPE (the reader of its output went away)"
        default: return "a signal to another rank"
        }
    }

    /// Installs the handlers for SIGINT, SIGTERM, SIGHUP and SIGPIPE.
    public static func install() {
        let handler: @convention(c) (Int32) -> Void = { number in
            StopSignal.signalNumber = sig_atomic_t(number)
            StopSignal.flag = 1
        }
        for number in [SIGINT, SIGTERM, SIGHUP, SIGPIPE] { signal(number, handler) }
    }

    /// For tests.
    public static func request() { flag = 1 }
    public static func reset() { flag = 0 }
}
