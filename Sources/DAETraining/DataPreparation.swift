import DAECore
import DAEData
import Foundation

/// Before a run: every rank has its training data. The first rank of each node checks the
/// node's data folder and, when allowed, downloads what is missing (hosts need not share a
/// file system) while the node's other ranks wait; then every rank checks its files, and one
/// that still lacks them names its host. All ranks learn whether any failed.
public enum DataPreparation {
    /// Some rank could not get the data; each such rank has said why on standard error.
    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String { "a rank is missing the training data (see its message)" }
    }

    /// `describe` words a download error for the user. Call on every rank; throws `Unavailable` on every rank when any failed.
    public static func prepare(_ source: DatasetSource, download: Bool, downloader: MNISTDownloader, communicator: Communicator,
                               describe: (Error) -> String) throws {
        guard case .mnist(let dataDir) = source else { return }
        let failures = DoubleBuffer(count: 1), host = ProcessInfo.processInfo.hostName
        failures[0] = 0
        if communicator.node.isFirst && !MNISTFiles.allPresent(dataDir: dataDir) && download {
            do { try downloader.download(into: dataDir) { print("dae-dist: \(host): \($0)") } } catch {
                FileHandle.standardError.write(Data("dae-dist: \(host): \(describe(error))\n".utf8))
                failures[0] = 1
            }
        }
        // The node's other ranks wait for its download here, for as long as a download may take
        // (every file from every mirror, each within the downloader's timeout), not --collective-timeout.
        let longest = Double(MNISTDownloader.allFiles.count * downloader.mirrors.count) * downloader.timeout + 60
        try communicator.withDeadline(atLeast: longest) { try communicator.allReduceSum(failures.buffer) }
        if failures[0] == 0 && communicator.size > 1 && !MNISTFiles.allPresent(dataDir: dataDir) {
            FileHandle.standardError.write(Data("dae-dist: rank \(communicator.rank) on \(host) is missing MNIST files in \(dataDir); put them there on every host, or let the node's first rank download them (--download)\n".utf8))
            failures[0] = 1
        }
        if communicator.size > 1 { try communicator.allReduceSum(failures.buffer) }
        if failures[0] != 0 { throw Unavailable() }
    }
}
