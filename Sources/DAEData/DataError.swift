import DAECore
/// Everything that can be wrong with the data a user points dae-dist at. Each message names
/// the file or setting and says what to do (the command line names settings by their flags:
/// see `DataSetting`).
public enum DataError: Error, CustomStringConvertible, Equatable {
    case missing(path: String, dataDir: String)
    case unreadable(path: String, reason: String)
    case truncated(path: String, expectedBytes: Int, actualBytes: Int)
    case trailingBytes(path: String, expectedBytes: Int)
    case wrongMagic(path: String, found: UInt32, expected: UInt32)
    case wrongImageSize(path: String, rows: Int, columns: Int)
    case corruptGzip(path: String, reason: String)
    case countMismatch(images: String, imageCount: Int, labels: String, labelCount: Int)
    case empty(path: String)
    /// A label outside 0-9: not an MNIST label file.
    case badLabel(path: String, index: Int, value: UInt8)
    case invalidSetting(DataSetting, reason: String)
    /// Records asked of an IDX file that it does not hold (a caller's mistake).
    case recordsOutOfRange(path: String, reason: String)
    case downloadFailed(file: String, attempts: [String], dataDir: String)
    case checksumMismatch(url: String, expected: String, actual: String)

    public var description: String {
        switch self {
        case .missing(let path, let dataDir):
            return "\(path): not found. Put the MNIST files in \(dataDir) (or point --data-dir at them), "
                + "let dae-dist fetch them with --download (or `dae-dist download`), or train offline on --dataset synthetic."
        case .unreadable(let path, let reason):
            return "\(path): cannot be read (\(reason))."
        case .truncated(let path, let expected, let actual):
            return "\(path): truncated: its header promises \(expected) bytes of data but it holds \(actual). "
                + "Delete it and download it again (--download)."
        case .trailingBytes(let path, let expected):
            return "\(path): longer than its header says (\(expected) bytes): the count in the header is wrong or the file is not MNIST."
        case .wrongMagic(let path, let found, let expected):
            return "\(path): not an IDX \(expected == 2051 ? "image" : "label") file (magic number \(found), expected \(expected)). "
                + "Check that the file names are not swapped and the file is MNIST."
        case .wrongImageSize(let path, let rows, let columns):
            return "\(path): holds \(rows) x \(columns) images; this model takes \(Architecture.imageSide) x \(Architecture.imageSide) (MNIST)."
        case .corruptGzip(let path, let reason):
            return "\(path): corrupt gzip data (\(reason)). Delete it and download it again (--download)."
        case .countMismatch(let images, let imageCount, let labels, let labelCount):
            return "\(images) holds \(imageCount) images but \(labels) holds \(labelCount) labels: the two files are from different sets."
        case .badLabel(let path, let index, let value):
            return "\(path): label \(index) is \(value), not a digit from 0 to 9: the file is not MNIST labels or is damaged."
        case .empty(let path):
            return "\(path): holds no images (its header counts 0). Point --data-dir at MNIST files that have some."
        case .invalidSetting(let setting, let reason):
            return "\(setting.rawValue): \(reason)"
        case .recordsOutOfRange(let path, let reason):
            return "\(path): \(reason)"
        case .downloadFailed(let file, let attempts, let dataDir):
            return "could not download \(file) (tried: \(attempts.joined(separator: "; "))). If this machine is offline, "
                + "copy the MNIST files into \(dataDir) (--data-dir) or train on --dataset synthetic."
        case .checksumMismatch(let url, let expected, let actual):
            return "\(url): checksum mismatch (MD5 \(actual), expected \(expected)); the download was discarded."
        }
    }
}

/// The settings of the data library an `invalidSetting` error can be about, in its own
/// terms; a front end maps them to its own names (`dae-dist` to its flags).
public enum DataSetting: String, Sendable, CaseIterable {
    case validationSize = "the validation size"
    case limitTrain = "the training-image limit"
    case shards = "the shard count"
    case globalBatch = "the global batch"
    case dataDir = "the data folder"
    case files = "the files to download"
    case mirror = "the download mirror"
    case digits = "the digits kept"
}
