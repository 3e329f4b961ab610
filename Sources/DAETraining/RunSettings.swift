import DAECore
import DAEData
import Foundation

/// One setting of a run, as the one table below declares it: its flag (`batch-size` for
/// `--batch-size`), its help, whether it shapes the run's trajectory, and where it lives in a
/// `TrainingConfig` (whose initial values are the defaults). From the table come the `train`
/// flags' names and help (`TrainingOptions`), `config.json` and the metrics header
/// (`TrainingConfig.fields`; keys are the flags with `_` for `-`, which `--config` reads
/// back), and the resume check (`TrainingState.trajectoryChanges`, typed values).
// Unchecked: every stored value is immutable (`recordedBefore` is a number, string or list).
public struct RunSetting: @unchecked Sendable {
    /// The flag without its dashes.
    public let name: String
    public let help: String
    /// The help's placeholder for the value (`n`, `list`), when the type's is not the clearest.
    public let valueName: String?
    /// Whether a resume that changes it no longer continues the saved run.
    public let shapesTrajectory: Bool
    /// The value as `config.json` records it.
    let recorded: @Sendable (TrainingConfig) -> Any?
    /// Whether a value read back from a saved `config.json` (nil: the key is absent) is this
    /// configuration's, compared as the setting's type.
    let matches: @Sendable (Any?, TrainingConfig) -> Bool
    /// What a saved configuration without this setting is read as having (recorded form), if anything.
    let recordedBefore: Any?

    public var flag: String { "--" + name }
    /// Its key in `config.json`.
    public var key: String { name.replacingOccurrences(of: "-", with: "_") }

    /// A setting stored at `keyPath`. `before`: the value runs had before the setting was
    /// recorded (a saved configuration without it is read as having this).
    init<Value: SettingValue>(_ keyPath: KeyPath<TrainingConfig, Value> & Sendable, _ name: String, trajectory: Bool = false, before: Value? = nil,
                              valueName: String? = nil, _ help: String) {
        self.name = name
        self.help = help
        self.valueName = valueName
        self.shapesTrajectory = trajectory
        recorded = { $0[keyPath: keyPath].recorded }
        recordedBefore = before?.recorded
        matches = { saved, config in
            let current = config[keyPath: keyPath]
            guard let saved, !(saved is NSNull) else { return before.map { $0 == current } ?? Value.absent.map { $0 == current } ?? false }
            return Value(recorded: saved).map { $0 == current.asRecorded } ?? false
        }
    }
}

extension RunSetting {
    /// Every setting, in `config.json`'s order.
    public static var all: [RunSetting] {
        [dataset, dataDir, latentDim, batchSize, shards, epochs, minSteps, maxSteps, lr, noiseFactor, noise, valSize, limitTrain, digits, seed,
         bn, precision, overlap, threads, logEvery, validationInterval, earlyStopPatience, earlyStopDelta, checkpointEvery, probeEvery, outDir]
    }

    /// The flags of the settings that shape the trajectory, for help texts: "--seed, --lr, ...".
    public static var trajectoryFlags: String { all.filter(\.shapesTrajectory).map(\.flag).joined(separator: ", ") }

    public static let dataset = RunSetting(\.datasetName, "dataset", trajectory: true, "mnist, or synthetic (procedurally drawn digits, no files needed).")
    public static let dataDir = RunSetting(\.dataDir, "data-dir", "Folder with the MNIST files (env DAE_DATA_DIR).")
    public static let latentDim = RunSetting(\.latentDim, "latent-dim", "Size of the latent code.")
    public static let batchSize = RunSetting(\.globalBatch, "batch-size", trajectory: true, "Global batch size, summed over all ranks.")
    public static let shards = RunSetting(\.shards, "shards", trajectory: true, "Virtual shards of the training set (at least the number of ranks).")
    public static let epochs = RunSetting(\.epochs, "epochs",
        "Epochs to train (default \(TrainingConfig.defaultEpochs), lengthened for small training sets: see --min-steps).")
    public static let minSteps = RunSetting(\.minSteps, "min-steps",
        "Without --epochs: when \(TrainingConfig.defaultEpochs) epochs are fewer optimiser steps than this (a small training set, such as one digit), train and validate in longer units of whole epochs until this many steps; early stopping still ends the run (0: off).")
    public static let maxSteps = RunSetting(\.maxSteps, "max-steps", "Stop after this many global steps.")
    public static let lr = RunSetting(\.learningRate, "lr", trajectory: true, "Adam learning rate.")
    public static let noiseFactor = RunSetting(\.noiseFactor, "noise-factor", trajectory: true,
        "The noise's standard deviation (gaussian) or the fraction of pixels corrupted (masking, salt-pepper).")
    public static let noise = RunSetting(\.noise, "noise", trajectory: true, before: .gaussian,
        "How inputs are corrupted: gaussian (added noise), masking (pixels set to 0), salt-pepper (pixels set to 0 or 1).")
    public static let valSize = RunSetting(\.validationSize, "val-size", trajectory: true, "Images held out from the end of the train file for validation.")
    public static let limitTrain = RunSetting(\.limitTrain, "limit-train", trajectory: true, "Use at most this many training images.")
    public static let digits = RunSetting(\.digits, "digits", trajectory: true, valueName: "list",
        "Train and validate on these digits only, e.g. 0 (one class) or 0,1,2,3,4,5,6,8,9 (hold out 7); the test set keeps all.")
    public static let seed = RunSetting(\.seed, "seed", trajectory: true, "Seed for initialisation, shuffling and noise (and the synthetic digits).")
    public static let bn = RunSetting(\.batchNorm, "bn", trajectory: true,
        "BatchNorm statistics: sync (global batch, all ranks identical) or local (each rank's own batch).")
    public static let precision = RunSetting(\.precision, "precision", trajectory: true, before: .fp32,
        "What the convolution and Linear products read: fp32, or bf16 operands with fp32 sums (CPUs with AVX-512 BF16); parameters, Adam, BatchNorm and checkpoints stay fp32.")
    public static let overlap = RunSetting(\.overlap, "overlap", "Overlap the gradient all-reduce with backward (buckets).")
    public static let threads = RunSetting(\.threads, "threads", valueName: "n",
        "Compute threads per rank: they share out each batch's shard slices (keep ranks x threads <= cores). Default: this rank's share of the processors.")
    public static let logEvery = RunSetting(\.logEvery, "log-every", "Print the training loss every N steps (0: never).")
    public static let validationInterval = RunSetting(\.validationInterval, "validation-interval", "Validate at epoch 1 and every N epochs.")
    public static let earlyStopPatience = RunSetting(\.earlyStopPatience, "early-stop-patience", "Stop after this many validations without improvement.")
    public static let earlyStopDelta = RunSetting(\.earlyStopDelta, "early-stop-delta", "Minimum decrease of the validation loss that counts as an improvement.")
    public static let checkpointEvery = RunSetting(\.checkpointEvery, "checkpoint-every",
        "Also write checkpoints/last.safetensors every N steps (0: at validations only).")
    public static let probeEvery = RunSetting(\.probeEvery, "probe-every",
        "Every N validations, add the latent code's kNN accuracy (rank 0: 2,000 training images against 1,000 validation ones) to metrics.jsonl (0: never).")
    public static let outDir = RunSetting(\.outDir, "out-dir", "Where rank 0 writes config, metrics, checkpoints and pictures (default runs/<UTC time>-<run name>).")
    /// Not in `all`: runs have never recorded it in `config.json` (it checks, and changes nothing).
    public static let consistencyEvery = RunSetting(\.consistencyEvery, "consistency-every", "Compare parameter checksums across ranks every N steps.")
}

extension TrainingConfig {
    /// The configuration as `config.json` and the metrics header record it, in the table's order.
    public var fields: JSONObject { JSONObject(RunSetting.all.map { ($0.key, $0.recorded(self)) }) }

    /// `dataset` as recorded: `mnist` or `synthetic`.
    var datasetName: String {
        if case .mnist = dataset { return "mnist" } else { return "synthetic" }
    }

    /// MNIST's folder (nil for synthetic digits).
    var dataDir: String? {
        if case .mnist(let dir) = dataset { return dir } else { return nil }
    }
}

/// A setting's type: how it is recorded in `config.json` and read back from it.
protocol SettingValue: Equatable, Sendable {
    var recorded: Any? { get }
    /// The value as it reads back from `config.json` (a Float is recorded to 7 digits).
    var asRecorded: Self { get }
    /// From the value `JSONSerialization` reads back from `recorded`'s JSON.
    init?(recorded: Any)
    /// The value when its key is absent from a saved configuration (nil: none can be assumed).
    static var absent: Self? { get }
}

extension SettingValue {
    static var absent: Self? { nil }
    var asRecorded: Self { self }
}

extension Int: SettingValue {
    var recorded: Any? { self }
    init?(recorded: Any) {
        guard let number = recorded as? NSNumber, let value = Int(exactly: number.doubleValue) else { return nil }
        self = value
    }
}

extension UInt64: SettingValue {
    var recorded: Any? { self }
    init?(recorded: Any) {
        guard let number = recorded as? NSNumber else { return nil }
        self = number.uint64Value
    }
}

extension Double: SettingValue {
    var recorded: Any? { self }
    init?(recorded: Any) {
        guard let number = recorded as? NSNumber else { return nil }
        self = number.doubleValue
    }
}

extension Float: SettingValue {
    var recorded: Any? { self }
    init?(recorded: Any) {
        guard let number = recorded as? NSNumber else { return nil }
        self = Float(number.doubleValue)
    }
    /// `JSON.encode` writes a Float to 7 significant digits.
    var asRecorded: Float { Float(String(format: "%.7g", Double(self))) ?? self }
}

extension Bool: SettingValue {
    var recorded: Any? { self }
    init?(recorded: Any) {
        guard let value = recorded as? Bool else { return nil }
        self = value
    }
}

extension String: SettingValue {
    var recorded: Any? { self }
    init?(recorded: Any) {
        guard let value = recorded as? String else { return nil }
        self = value
    }
}

extension Array: SettingValue where Element == Int {
    var recorded: Any? { map { $0 as Any? } }
    init?(recorded: Any) {
        guard let list = recorded as? [Any] else { return nil }
        let values = list.compactMap { Int(recorded: $0) }
        guard values.count == list.count else { return nil }
        self = values
    }
}

extension Optional: SettingValue where Wrapped: SettingValue {
    var recorded: Any? { self?.recorded }
    init?(recorded: Any) {
        if recorded is NSNull { self = .none; return }
        guard let value = Wrapped(recorded: recorded) else { return nil }
        self = .some(value)
    }
    /// Absent means none: such settings were recorded from the start as null when unset.
    static var absent: Self? { .some(.none) }
    var asRecorded: Self { self?.asRecorded }
}

extension SettingValue where Self: RawRepresentable, RawValue == String {
    var recorded: Any? { rawValue }
    init?(recorded: Any) {
        guard let raw = recorded as? String, let value = Self(rawValue: raw) else { return nil }
        self = value
    }
}

extension Corruption: SettingValue {}
extension BatchNormStatistics: SettingValue {}
extension Precision: SettingValue {}
