import ArgumentParser
import DAECore
import DAEData
import DAETraining

/// The flags that make a `TrainingConfig`. Each flag's name and help are its row of the run
/// settings' table (`RunSetting`), its default the `TrainingConfig`'s; `config.json` records
/// them under the same names (`-` as `_`), which `--config` reads back.
struct TrainingOptions: ParsableArguments {
    private typealias S = RunSetting
    private static let defaults = TrainingConfig.defaults

    @Option(name: .setting(S.epochs), help: .setting(S.epochs)) var epochs: Int?
    @Option(name: .setting(S.minSteps), help: .setting(S.minSteps)) var minSteps = defaults.minSteps
    @Option(name: .setting(S.batchSize), help: .setting(S.batchSize)) var batchSize = defaults.globalBatch
    @Option(name: .setting(S.lr), help: .setting(S.lr)) var lr = defaults.learningRate
    @OptionGroup var latent: LatentOptions
    @Option(name: .setting(S.noiseFactor), help: .setting(S.noiseFactor)) var noiseFactor = defaults.noiseFactor
    @Option(name: .setting(S.noise), help: .setting(S.noise)) var noise = defaults.noise
    @Flag(name: .customLong("no-denoising"), help: "Train a plain autoencoder (no input noise; --noise-factor 0).")
    var noDenoising = false
    @Option(name: .setting(S.valSize), help: .setting(S.valSize)) var valSize = defaults.validationSize
    @Option(name: .setting(S.seed), help: .setting(S.seed)) var seed = defaults.seed
    @Option(name: .setting(S.shards), help: .setting(S.shards)) var shards = defaults.shards
    @Option(name: .setting(S.bn), help: .setting(S.bn)) var bn = defaults.batchNorm
    @Option(name: .setting(S.precision), help: .setting(S.precision)) var precision = defaults.precision
    @Option(name: .setting(S.threads), help: .setting(S.threads)) var threads: Int?
    @Option(name: .setting(S.maxSteps), help: .setting(S.maxSteps)) var maxSteps: Int?
    @Option(name: .setting(S.limitTrain), help: .setting(S.limitTrain)) var limitTrain: Int?
    @Option(name: .setting(S.digits), help: .setting(S.digits)) var digits: DigitsArgument?
    @Option(name: .setting(S.logEvery), help: .setting(S.logEvery)) var logEvery = defaults.logEvery
    @Flag(inversion: .prefixedNo, help: .setting(S.overlap)) var overlap = defaults.overlap
    @Option(name: .setting(S.consistencyEvery), help: .setting(S.consistencyEvery)) var consistencyEvery = defaults.consistencyEvery
    @Option(name: .setting(S.validationInterval), help: .setting(S.validationInterval)) var validationInterval = defaults.validationInterval
    @Option(name: .setting(S.earlyStopPatience), help: .setting(S.earlyStopPatience)) var earlyStopPatience = defaults.earlyStopPatience
    @Option(name: .setting(S.earlyStopDelta), help: .setting(S.earlyStopDelta)) var earlyStopDelta = defaults.earlyStopDelta
    @Option(name: .setting(S.checkpointEvery), help: .setting(S.checkpointEvery)) var checkpointEvery = defaults.checkpointEvery
    @Option(name: .setting(S.probeEvery), help: .setting(S.probeEvery)) var probeEvery = defaults.probeEvery

    func validate() throws {
        func positive(_ value: Int, _ flag: String) throws { if value < 1 { throw ValidationError("\(flag) must be at least 1 (got \(value)).") } }
        if let epochs { try positive(epochs, "--epochs") }
        guard minSteps >= 0 else { throw ValidationError("--min-steps must be 0 or more (got \(minSteps)).") }
        try positive(batchSize, "--batch-size")
        try positive(valSize, "--val-size"); try positive(shards, "--shards")
        if let threads { try positive(threads, "--threads") }
        if let maxSteps { try positive(maxSteps, "--max-steps") }
        if let limitTrain { try positive(limitTrain, "--limit-train") }
        guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be a positive number (got \(lr)).") }
        guard noiseFactor >= 0, noiseFactor.isFinite else { throw ValidationError("--noise-factor must be 0 or more (got \(noiseFactor)).") }
        if noise.factorIsFraction && noiseFactor > 1 {
            throw ValidationError("--noise-factor is the fraction of pixels --noise \(noise.rawValue) corrupts: at most 1 (got \(noiseFactor)).")
        }
        guard logEvery >= 0, consistencyEvery >= 0 else { throw ValidationError("--log-every and --consistency-every must be 0 or more.") }
        try positive(validationInterval, "--validation-interval"); try positive(earlyStopPatience, "--early-stop-patience")
        guard earlyStopDelta >= 0 else { throw ValidationError("--early-stop-delta must be 0 or more (got \(earlyStopDelta)).") }
        guard checkpointEvery >= 0 else { throw ValidationError("--checkpoint-every must be 0 or more.") }
        guard probeEvery >= 0 else { throw ValidationError("--probe-every must be 0 or more.") }
        if let reason = precision.unavailableReason { throw ValidationError(reason + ".") }
        guard batchSize >= shards else {
            throw ValidationError("--batch-size (\(batchSize)) must be at least --shards (\(shards)): every shard gives a sample to every step. Raise the batch or lower --shards.")
        }
    }

    /// The run's configuration: these flags, the data they train on, the compute threads
    /// chosen (`--threads` or the automatic share) and the output folder.
    func config(dataset: DatasetSource, threads: Int, outDir: String) -> TrainingConfig {
        var config = TrainingConfig(dataset: dataset)
        config.latentDim = latent.latentDim
        config.globalBatch = batchSize
        config.shards = shards
        config.epochs = epochs ?? TrainingConfig.defaultEpochs
        config.minSteps = epochs == nil ? minSteps : 0
        config.maxSteps = maxSteps
        config.learningRate = lr
        config.noiseFactor = noDenoising ? 0 : noiseFactor
        config.noise = noise
        config.validationSize = valSize
        config.limitTrain = limitTrain
        config.digits = digits?.list
        config.seed = seed
        config.batchNorm = bn
        config.precision = precision
        config.overlap = overlap
        config.threads = threads
        config.logEvery = logEvery
        config.consistencyEvery = consistencyEvery
        config.validationInterval = validationInterval
        config.earlyStopPatience = earlyStopPatience
        config.earlyStopDelta = earlyStopDelta
        config.checkpointEvery = checkpointEvery
        config.probeEvery = probeEvery
        config.outDir = outDir
        return config
    }
}

extension NameSpecification {
    /// A run setting's flag (`RunSetting.name`).
    static func setting(_ setting: RunSetting) -> NameSpecification { .customLong(setting.name) }
}

extension ArgumentHelp {
    /// A run setting's help (`RunSetting.help`).
    static func setting(_ setting: RunSetting) -> ArgumentHelp { ArgumentHelp(setting.help, valueName: setting.valueName) }
}

extension BatchNormStatistics: ExpressibleByArgument {}
extension Corruption: ExpressibleByArgument {}
extension Precision: ExpressibleByArgument {}
extension AnomalyScore: ExpressibleByArgument {}

/// `--digits 0,1,2`: a list of digit labels (see `DigitList`).
struct DigitsArgument: ExpressibleByArgument {
    let list: [Int]

    init?(argument: String) {
        guard let list = DigitList.parse(argument) else { return nil }
        self.list = list
    }
}
