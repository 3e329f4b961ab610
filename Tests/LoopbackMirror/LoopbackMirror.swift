import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `python3 -m http.server` on 127.0.0.1 serving a folder: a stand-in MNIST mirror for the
/// download tests (tests only).
public final class LoopbackMirror {
    /// The mirror's base URL, ending in `/`.
    public let base: String
    private let process: Process

    /// Serves `directory` on a free port; nil when python3 is absent or no server came up.
    public init?(serving directory: String) {
        let paths = ["/usr/bin", "/usr/local/bin"] + (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        guard let python = paths.map({ $0 + "/python3" }).first(where: FileManager.default.isExecutableFile) else { return nil }
        for _ in 0..<5 {
            let port = 20_000 + Int.random(in: 0..<20_000)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = ["-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", directory]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            guard (try? process.run()) != nil else { return nil }
            for _ in 0..<50 where process.isRunning {
                if LoopbackMirror.accepts(port: port) {
                    self.process = process
                    base = "http://127.0.0.1:\(port)/"
                    return
                }
                usleep(100_000)
            }
            process.terminate()
        }
        return nil
    }

    deinit { stop() }

    public func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    /// Whether something listens on 127.0.0.1:`port`.
    private static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
