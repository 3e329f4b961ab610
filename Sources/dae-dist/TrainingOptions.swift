import ArgumentParser
import DAECore
import DAEData
import DAETraining

/// The flags that make a `TrainingConfig`, each declared here once. Their names, with `-` as
/// `_`, are the keys of `config.json` (`TrainingConfig.fields`), which `--config` reads back.
struct TrainingOptions: ParsableArguments {
    @Option(help: "Epochs to train (default 20, lengthened for small training sets: see --min-steps).")
    var epochs: Int?
    @Option(name: .customLong("min-steps"), help: "Without --epochs: when 20 epochs are fewer optimiser steps than this (a small training set, such as one digit), train and validate in longer units of whole epochs until this many steps; early stopping still ends the run (0: off).")
    var minSteps = 1500
    @Option(name: .customLong("batch-size"), help: "Global batch size, summed over all ranks.")
    var batchSize = 256
    @Option(help: "Adam learning rate.")
    var lr: Float = 1e-3
    @Option(name: .customLong("latent-dim"), help: "Size of the latent code.")
    var latentDim = 2
    @Option(name: .customLong("noise-factor"), help: "The noise's standard deviation (gaussian) or the fraction of pixels corrupted (masking, salt-pepper).")
    var noiseFactor: Float = 0.1
    @Option(help: "How inputs are corrupted: gaussian (added noise), masking (pixels set to 0), salt-pepper (pixels set to 0 or 1).")
    var noise: Corruption = .gaussian
    @Flag(name: .customLong("no-denoising"), help: "Train a plain autoencoder (no input noise).")
    var noDenoising = false
    @Option(name: .customLong("val-size"), help: "Images held out from the end of the train file for validation.")
    var valSize = 5000
    @Option(help: "Seed for initialisation, shuffling and noise (and the synthetic digits).")
    var seed: UInt64 = 0
    @Option(help: "Virtual shards of the training set (at least the number of ranks).")
    var shards = 24
    @Option(help: "BatchNorm statistics: sync (global batch, all ranks identical) or local (each rank's own batch).")
    var bn: BatchNormStatistics = .sync
    @Option(help: "What the convolution and Linear products read: fp32, or bf16 operands with fp32 sums (CPUs with AVX-512 BF16); parameters, Adam, BatchNorm and checkpoints stay fp32.")
    var precision: Precision = .fp32
    @Option(help: ArgumentHelp("Compute threads per rank: they share out each batch's shard slices (keep ranks x threads <= cores). Default: this rank's share of the processors.", valueName: "n"))
    var threads: Int?
    @Option(name: .customLong("max-steps"), help: "Stop after this many global steps.")
    var maxSteps: Int?
    @Option(name: .customLong("limit-train"), help: "Use at most this many training images.")
    var limitTrain: Int?
    @Option(help: ArgumentHelp("Train and validate on these digits only, e.g. 0 (one class) or 0,1,2,3,4,5,6,8,9 (hold out 7); the test set keeps all.", valueName: "list"))
    var digits: DigitsArgument?
    @Option(name: .customLong("log-every"), help: "Print the training loss every N steps (0: never).")
    var logEvery = 50
    @Flag(inversion: .prefixedNo, help: "Overlap the gradient all-reduce with backward (buckets).")
    var overlap = true
    @Option(name: .customLong("consistency-every"), help: "Compare parameter checksums across ranks every N steps.")
    var consistencyEvery = 100
    @Option(name: .customLong("validation-interval"), help: "Validate at epoch 1 and every N epochs.")
    var validationInterval = 1
    @Option(name: .customLong("early-stop-patience"), help: "Stop after this many validations without improvement.")
    var earlyStopPatience = 5
    @Option(name: .customLong("early-stop-delta"), help: "Minimum decrease of the validation loss that counts as an improvement.")
    var earlyStopDelta = 0.0
    @Option(name: .customLong("checkpoint-every"), help: "Also write checkpoints/last.safetensors every N steps (0: at validations only).")
    var checkpointEvery = 0
    @Option(name: .customLong("probe-every"), help: "Every N validations, add the latent code's kNN accuracy (rank 0: 2,000 training images against 1,000 validation ones) to metrics.jsonl (0: never).")
    var probeEvery = 0

    func validate() throws {
        func positive(_ value: Int, _ flag: String) throws { if value < 1 { throw ValidationError("\(flag) must be at least 1 (got \(value)).") } }
        if let epochs { try positive(epochs, "--epochs") }
        guard minSteps >= 0 else { throw ValidationError("--min-steps must be 0 or more (got \(minSteps)).") }
        try positive(batchSize, "--batch-size"); try positive(latentDim, "--latent-dim")
        try positive(valSize, "--val-size"); try positive(shards, "--shards")
        if let threads { try positive(threads, "--threads") }
        // The checkpoint reader's bound too: a code this wide is no longer a bottleneck.
        guard latentDim <= 4096 else { throw ValidationError("--latent-dim must be at most 4096 (got \(latentDim)).") }
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
        config.latentDim = latentDim
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
