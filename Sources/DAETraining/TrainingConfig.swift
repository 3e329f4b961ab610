import DAECore
import DAEData

/// Everything a run is configured by (the `dae-dist train` flags, resolved). The initial values
/// are the defaults; each setting's flag, help and role are in `RunSetting`'s table.
public struct TrainingConfig: Sendable {
    public var dataset: DatasetSource
    public var latentDim = 2
    public var globalBatch = 256
    public var shards = 24
    public var epochs = TrainingConfig.defaultEpochs
    public static let defaultEpochs = 20
    /// At least this many optimiser steps (0: no minimum): see `lengthened(stepsPerEpoch:)`.
    public var minSteps = 1500
    /// Stop after this many global steps (nil: run all epochs).
    public var maxSteps: Int?
    public var learningRate: Float = 1e-3
    /// 0 turns denoising off (a plain autoencoder).
    public var noiseFactor: Float = 0.1
    /// How inputs are corrupted; `noiseFactor` is its deviation or fraction.
    public var noise: Corruption = .gaussian
    public var validationSize = 5000
    public var limitTrain: Int?
    /// Train and validate on images of these labels only (nil: all).
    public var digits: [Int]?
    public var seed: UInt64 = 0
    public var batchNorm: BatchNormStatistics = .sync
    /// What the convolution and Linear products read (`BLAS.precision` for the run).
    public var precision: Precision = .fp32
    public var overlap = true
    public var threads = 1
    public var logEvery = 50
    /// Compare parameter checksums across ranks every this many steps (and at the end).
    public var consistencyEvery = 100
    /// Validate at epoch 1 and every this many epochs (and after the last).
    public var validationInterval = 1
    public var earlyStopPatience = 5
    public var earlyStopDelta = 0.0
    /// Write `last.safetensors` every this many steps too (0: at validations only).
    public var checkpointEvery = 0
    /// Add the latent code's kNN accuracy to every this many validations' metrics (0: never).
    public var probeEvery = 0
    /// Where rank 0 writes its files (nil: nowhere).
    public var outDir: String?

    public init(dataset: DatasetSource) { self.dataset = dataset }

    /// Every setting at its default (the values above), on MNIST in its default folder.
    public static let defaults = TrainingConfig(dataset: .mnist(dataDir: "./data/mnist"))

    /// This configuration with `epochs` and `validationInterval` multiplied by the smallest
    /// whole factor that makes at least `minSteps` optimiser steps; itself when it already
    /// does. A small training set (one digit, `--limit-train`) then trains as long, in steps,
    /// as a full one, validated as often per run, and early stopping ends it when the
    /// validation loss stops falling. Full-size runs are unchanged.
    public func lengthened(stepsPerEpoch: Int) -> TrainingConfig {
        let steps = epochs * stepsPerEpoch
        guard minSteps > steps, steps > 0 else { return self }
        let factor = (minSteps + steps - 1) / steps
        var config = self
        config.epochs *= factor
        config.validationInterval *= factor
        return config
    }
}
