import ArgumentParser
import DAEData
import DAETraining
import Foundation

/// Where the digits come from: the data flags `train`, `evaluate` and `encode` share.
struct DataOptions: ParsableArguments {
    enum Dataset: String, ExpressibleByArgument, CaseIterable { case mnist, synthetic }

    /// `--data-dir`'s default: `DAE_DATA_DIR`, else `./data/mnist`.
    static let defaultDataDir = ProcessInfo.processInfo.environment["DAE_DATA_DIR"] ?? "./data/mnist"

    @Option(name: .setting(RunSetting.dataDir), help: .setting(RunSetting.dataDir))
    var dataDir: String = DataOptions.defaultDataDir
    @Option(name: .setting(RunSetting.dataset), help: .setting(RunSetting.dataset))
    var dataset: Dataset = .mnist
    @Option(name: .customLong("synthetic-size"), help: "Images in the synthetic train file (--dataset synthetic); the test file has a sixth as many.")
    var syntheticSize = 12_000

    func validate() throws {
        // 784 bytes each: a million is 0.8 GB on every rank, 16 times MNIST's training set.
        guard (1...1_000_000).contains(syntheticSize) else {
            throw ValidationError("--synthetic-size must be between 1 and 1000000 (got \(syntheticSize)).")
        }
    }

    /// The data source; synthetic digits are drawn from `seed`.
    func source(seed: UInt64) -> DatasetSource {
        switch dataset {
        case .mnist: return .mnist(dataDir: dataDir)
        case .synthetic: return .synthetic(seed: seed, trainCount: syntheticSize)
        }
    }
}

/// The test set of `DataOptions` (for synthetic digits, that of `train --dataset synthetic`
/// with the default seed), or its first `--limit` images.
struct TestSetOptions: ParsableArguments {
    @OptionGroup var data: DataOptions
    @Option(help: "Use at most this many test images.")
    var limit: Int?

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1.") }
    }

    func load() throws -> Digits {
        let digits: Digits
        do { digits = try data.source(seed: 0).loadTest() } catch let error as DataError {
            throw ValidationFailure(error)
        }
        guard let limit, limit < digits.count else { return digits }
        return digits.prefix(limit)
    }
}
