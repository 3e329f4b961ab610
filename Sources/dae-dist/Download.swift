import ArgumentParser
import DAEData
import Foundation

/// `dae-dist download`: fetch the four MNIST files into the data directory, verified.
struct Download: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Download MNIST into the data directory (checksum-verified; files already there are kept).")

    @Option(name: .customLong("data-dir"), help: "Where the MNIST files go (env DAE_DATA_DIR).")
    var dataDir: String = DataOptions.defaultDataDir

    @OptionGroup var mirrors: MirrorOptions

    @Option(help: "Seconds to wait for a mirror to answer.")
    var timeout: Double = 60

    func validate() throws {
        try Bounds.seconds(timeout, "--timeout")
    }

    func run() throws {
        let downloader = MNISTDownloader(mirrors: mirrors.list, timeout: timeout)
        do {
            try downloader.download(into: dataDir) { print($0) }
        } catch let error as DataError {
            throw ValidationFailure(error)
        }
        print("MNIST is in \(dataDir)")
    }
}

/// `--mirror`, for `download` and for `train`'s download of missing files.
struct MirrorOptions: ParsableArguments {
    @Option(name: .customLong("mirror"), help: "A base URL holding the *-ubyte.gz files; repeat to try several in order (default: the public MNIST mirrors).")
    var mirrors: [String] = []

    /// The mirrors to try, in order.
    var list: [String] { mirrors.isEmpty ? MNISTDownloader.defaultMirrors : mirrors }

    func validate() throws {
        for mirror in mirrors where !(mirror.hasPrefix("http://") || mirror.hasPrefix("https://")) {
            throw ValidationError("--mirror must be an http:// or https:// URL (got '\(mirror)'); for files already on disk, copy them into --data-dir.")
        }
    }
}
