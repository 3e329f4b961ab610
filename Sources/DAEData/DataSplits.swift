/// The three sets a run uses, from one data source:
/// - training: the train file minus its last `validationSize` images, split into virtual shards;
/// - validation: those last `validationSize` images (rank 0 evaluates them at fixed noise);
/// - test: the `t10k` file, for pictures and final evaluation.
public enum DatasetSource: Sendable, Equatable {
    case mnist(dataDir: String)
    /// Procedurally drawn digits (`SyntheticDigits`): `trainCount` training-file and
    /// `testCount` test-file images.
    case synthetic(seed: UInt64, trainCount: Int, testCount: Int)

    /// Synthetic digits with a test file a sixth of the train file's size (at least 100).
    public static func synthetic(seed: UInt64, trainCount: Int) -> DatasetSource {
        .synthetic(seed: seed, trainCount: trainCount, testCount: max(100, trainCount / 6))
    }

    /// The test file: MNIST's `t10k` files, or the synthetic test images.
    public func loadTest() throws -> Digits {
        switch self {
        case .mnist(let dataDir): return try Digits.load(dataDir: dataDir, split: .test)
        case .synthetic(let seed, _, let testCount):
            // A different stream from the training file's images.
            return SyntheticDigits.make(count: testCount, seed: seed ^ 0x7465_7374, firstIndex: 0)
        }
    }
}

/// - `digits`, when given, keeps only images of those labels in training and validation (the
///   test set keeps all): training sample i is then the i-th kept image of the training part.
public struct DataSplits: Sendable {
    public let source: DatasetSource
    /// Images in the train file.
    public let trainFileCount: Int
    /// The train file's last images held out (before `digits` filters them).
    public let validationSize: Int
    /// The labels kept, or nil for all.
    public let digits: [Int]?
    /// Training images actually used (`--limit-train` may cap them; `digits` filter them).
    public let trainCount: Int
    /// Validation images actually used (`digits` may filter them).
    public var validationCount: Int { validationImages?.count ?? validationSize }
    /// With `digits`: the train-file index of each training sample and of each validation image.
    private let trainImages: [Int]?
    private let validationImages: [Int]?

    /// Checks the sizes: `validationSize` must leave something to train on, and `digits`
    /// something to train and validate on.
    public init(source: DatasetSource, validationSize: Int, limitTrain: Int? = nil, digits: [Int]? = nil) throws {
        let fileCount: Int
        switch source {
        case .mnist(let dataDir): fileCount = try Digits.count(dataDir: dataDir, split: .train)
        case .synthetic(_, let trainCount, _): fileCount = trainCount
        }
        guard validationSize >= 1 else { throw DataError.invalidSetting(.validationSize, reason: "must be at least 1 (got \(validationSize)).") }
        guard validationSize < fileCount else {
            throw DataError.invalidSetting(.validationSize, reason: "\(validationSize) validation images leave nothing to train on: the train file holds \(fileCount).")
        }
        if let limitTrain, limitTrain < 1 { throw DataError.invalidSetting(.limitTrain, reason: "must be at least 1 (got \(limitTrain)).") }
        self.source = source
        trainFileCount = fileCount
        self.validationSize = validationSize
        self.digits = digits
        let trainPart = fileCount - validationSize
        guard let digits else {
            (trainImages, validationImages) = (nil, nil)
            trainCount = min(trainPart, limitTrain ?? Int.max)
            return
        }
        guard !digits.isEmpty, digits.allSatisfy({ (0...9).contains($0) }) else {
            throw DataError.invalidSetting(.digits, reason: "give labels from 0 to 9 (got \(digits)).")
        }
        let labels = try source.trainLabels(count: fileCount)
        let kept = Set(digits.map(UInt8.init))
        let train = (0..<trainPart).filter { kept.contains(labels[$0]) }.prefix(limitTrain ?? Int.max)
        let validation = (trainPart..<fileCount).filter { kept.contains(labels[$0]) }
        guard !train.isEmpty, !validation.isEmpty else {
            throw DataError.invalidSetting(.digits, reason: "the train file has \(train.count) training and \(validation.count) validation images of digits \(digits).")
        }
        (trainImages, validationImages) = (Array(train), validation)
        trainCount = train.count
    }

    /// The train-file records of training samples `ranges`, as ascending ranges of the file.
    private func fileRanges(ofTraining ranges: [Range<Int>]) -> [Range<Int>] {
        guard let trainImages else { return ranges }
        return Self.coalesce(ranges.flatMap { trainImages[$0] })
    }

    /// Ascending indices as ranges of consecutive ones.
    private static func coalesce<S: Sequence<Int>>(_ indices: S) -> [Range<Int>] {
        var out: [Range<Int>] = []
        for i in indices {
            if let last = out.last, last.upperBound == i { out[out.count - 1] = last.lowerBound..<(i + 1) } else { out.append(i..<(i + 1)) }
        }
        return out
    }

    /// Training sample indices `ranges` (within `0..<trainCount`).
    public func loadTraining(ranges: [Range<Int>]) throws -> Digits {
        try loadTrainFile(fileRanges(ofTraining: ranges))
    }

    /// Records `ranges` (ascending) of the train file.
    private func loadTrainFile(_ ranges: [Range<Int>]) throws -> Digits {
        switch source {
        case .mnist(let dataDir):
            return try Digits.load(dataDir: dataDir, split: .train, ranges: ranges)
        case .synthetic(let seed, _, _):
            let parts = ranges.map { SyntheticDigits.make(count: $0.count, seed: seed, firstIndex: $0.lowerBound) }
            return Digits(pixels: parts.flatMap(\.pixels), labels: parts.flatMap(\.labels), sampleIndices: parts.flatMap(\.sampleIndices))
        }
    }

    /// This rank's shards of the training set.
    public func loadShards(plan: ShardPlan, rank: Int, worldSize: Int) throws -> ShardedTrainingSet {
        let ranges = plan.shardsOwned(rank: rank, worldSize: worldSize).map { plan.range(of: $0) }
        return ShardedTrainingSet(plan: plan, rank: rank, worldSize: worldSize, digits: try loadTraining(ranges: ranges))
    }

    /// The validation hold-out: the train file's last `validationSize` images (of `digits`).
    /// Images `part` of it (all of them when nil), indexed from the hold-out's first image.
    public func loadValidation(part: Range<Int>? = nil) throws -> Digits {
        let part = part ?? 0..<validationCount
        precondition(part.lowerBound >= 0 && part.upperBound <= validationCount, "validation part \(part) outside 0..<\(validationCount)")
        if part.isEmpty { return Digits(pixels: [], labels: [], sampleIndices: []) }
        let first = trainFileCount - validationSize
        let ranges = validationImages.map { Self.coalesce($0[part]) } ?? [(first + part.lowerBound)..<(first + part.upperBound)]
        return try loadTrainFile(ranges)
    }

    public func loadTest() throws -> Digits { try source.loadTest() }
}

extension DatasetSource {
    /// The labels of the train file's first `count` images.
    func trainLabels(count: Int) throws -> [UInt8] {
        switch self {
        case .mnist(let dataDir): return try Digits.labels(dataDir: dataDir, split: .train)
        case .synthetic(let seed, _, _): return (0..<count).map { SyntheticDigits.label(sample: $0, seed: seed) }
        }
    }
}
