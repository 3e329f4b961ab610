import Foundation

/// The two MNIST splits as files on disk: `train-*` and `t10k-*`.
public enum MNISTSplit: String, Sendable, CaseIterable {
    case train
    case test = "t10k"
}

/// Where the four MNIST files are, under either common naming (`train-images-idx3-ubyte`
/// or `train-images.idx3-ubyte`), gzip or not.
public enum MNISTFiles {
    /// The canonical (downloaded) file name.
    public static func fileName(_ split: MNISTSplit, _ kind: IDXKind) -> String {
        "\(split.rawValue)-\(kind == .images ? "images-idx3" : "labels-idx1")-ubyte.gz"
    }

    public static func candidates(_ split: MNISTSplit, _ kind: IDXKind) -> [String] {
        let (name, dims) = kind == .images ? ("images", "idx3") : ("labels", "idx1")
        let stems = ["\(split.rawValue)-\(name)-\(dims)-ubyte", "\(split.rawValue)-\(name).\(dims)-ubyte"]
        return stems.flatMap { [$0 + ".gz", $0] }
    }

    /// The first existing candidate in `dataDir`, or `DataError.missing` naming the canonical one.
    public static func locate(dataDir: String, _ split: MNISTSplit, _ kind: IDXKind) throws -> String {
        for name in candidates(split, kind) {
            let path = (dataDir as NSString).appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: path) { return path }
        }
        throw DataError.missing(path: (dataDir as NSString).appendingPathComponent(fileName(split, kind)), dataDir: dataDir)
    }

    public static func allPresent(dataDir: String) -> Bool {
        MNISTSplit.allCases.allSatisfy { split in
            [IDXKind.images, .labels].allSatisfy { (try? locate(dataDir: dataDir, split, $0)) != nil }
        }
    }
}
