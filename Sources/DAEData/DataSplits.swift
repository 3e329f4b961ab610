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

public struct DataSplits: Sendable {
    public let source: DatasetSource
    /// Images in the train file.
    public let trainFileCount: Int
    public let validationSize: Int
    /// Training images actually used (`--limit-train` may cap them).
    public let trainCount: Int

    /// Checks the sizes: `validationSize` must leave something to train on.
    public init(source: DatasetSource, validationSize: Int, limitTrain: Int? = nil) throws {
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
        trainCount = min(fileCount - validationSize, limitTrain ?? Int.max)
    }

    /// Training sample indices `ranges` (within `0..<trainCount`).
    public func loadTraining(ranges: [Range<Int>]) throws -> Digits {
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

    /// The validation hold-out: the train file's last `validationSize` images.
    /// Images `part` of it (all of them when nil), indexed from the hold-out's first image.
    public func loadValidation(part: Range<Int>? = nil) throws -> Digits {
        let part = part ?? 0..<validationSize
        precondition(part.lowerBound >= 0 && part.upperBound <= validationSize, "validation part \(part) outside 0..<\(validationSize)")
        if part.isEmpty { return Digits(pixels: [], labels: [], sampleIndices: []) }
        let first = trainFileCount - validationSize
        let range = (first + part.lowerBound)..<(first + part.upperBound)
        switch source {
        case .mnist(let dataDir): return try Digits.load(dataDir: dataDir, split: .train, ranges: [range])
        case .synthetic(let seed, _, _): return SyntheticDigits.make(count: range.count, seed: seed, firstIndex: range.lowerBound)
        }
    }

    public func loadTest() throws -> Digits { try source.loadTest() }
}
