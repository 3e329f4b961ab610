import DAECore
import DAEData

/// Everything a run is configured by (the `dae-dist train` flags, resolved).
public struct TrainingConfig: Sendable {
    public var dataset: DatasetSource
    public var latentDim = 2
    public var globalBatch = 256
    public var shards = 24
    public var epochs = 20
    /// Stop after this many global steps (nil: run all epochs).
    public var maxSteps: Int?
    public var learningRate: Float = 1e-3
    /// 0 turns denoising off (a plain autoencoder).
    public var noiseFactor: Float = 0.1
    public var validationSize = 5000
    public var limitTrain: Int?
    public var seed: UInt64 = 0
    public var batchNorm: BatchNormStatistics = .sync
    public var overlap = true
    public var threads = 1
    public var logEvery = 50
    /// Compare parameter checksums across ranks every this many steps (and at the end).
    public var consistencyEvery = 100
    /// Where rank 0 writes its files (nil: nowhere).
    public var outDir: String?

    public init(dataset: DatasetSource) { self.dataset = dataset }
}
