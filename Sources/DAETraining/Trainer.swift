import DAECore
import DAEData
import Foundation

/// The training loop of one rank: its shards of the data, the model, the optimizer, and the
/// step loop over epochs. Every rank runs the same loop and enters the same collectives in
/// the same order; rank 0 alone reports and writes files.
public final class Trainer {
    public let config: TrainingConfig
    public let communicator: Communicator
    public let splits: DataSplits
    public let plan: ShardPlan
    public let shards: ShardedTrainingSet
    public let model: Autoencoder
    public let step: TrainingStep
    public let localBatch: Int
    private let noise: NoiseGenerator
    private let indices: UnsafeMutablePointer<Int>
    private let clean: FloatBuffer
    private let scratch = DoubleBuffer(count: 1)
    /// This rank's shard slices in a step, in batch order: the segments gradients and
    /// BatchNorm statistics are summed by, which makes them world-size invariant.
    private let segments: [Int]

    /// One line per logged step: global step, epoch, loss, images/s of the global batch.
    public struct StepLog: Sendable {
        public let step: Int
        public let epoch: Int
        public let loss: Double
        public let imagesPerSecond: Double
        public let communicationSeconds: Double
    }

    public init(config: TrainingConfig, communicator: Communicator) throws {
        self.config = config
        self.communicator = communicator
        ComputeThreads.set(config.threads)
        splits = try DataSplits(source: config.dataset, validationSize: config.validationSize, limitTrain: config.limitTrain)
        plan = try ShardPlan(trainCount: splits.trainCount, shards: config.shards, globalBatch: config.globalBatch, worldSize: communicator.size)
        shards = try splits.loadShards(plan: plan, rank: communicator.rank, worldSize: communicator.size)
        localBatch = plan.localBatch(rank: communicator.rank, worldSize: communicator.size)
        let plan = self.plan
        segments = plan.shardsOwned(rank: communicator.rank, worldSize: communicator.size).map { plan.sliceSizes[$0] }
        model = Autoencoder(latentDim: config.latentDim, maxBatch: localBatch, batchNormStatistics: config.batchNorm,
                            communicator: communicator, seed: config.seed)
        step = TrainingStep(model: model, optimizer: Adam(parameterCount: model.parameters.count, learningRate: config.learningRate),
                            overlap: config.overlap)
        noise = NoiseGenerator(seed: config.seed)
        indices = .allocate(capacity: localBatch)
        clean = FloatBuffer(count: localBatch * Architecture.imagePixels)
    }

    deinit { indices.deallocate() }

    public var globalStep: Int { step.optimizer.step }

    /// Runs until `epochs` or `maxSteps`; `onLog` hears every `logEvery`-th step (on every rank;
    /// callers print on rank 0). Returns the losses of all steps.
    @discardableResult
    public func run(onLog: (StepLog) -> Void = { _ in }) throws -> [Double] {
        var losses: [Double] = []
        let stepsPerEpoch = plan.stepsPerEpoch
        var clock = Clock.seconds()
        var imagesSinceLog = 0
        epochs: for epoch in 0..<config.epochs {
            let order = EpochOrder(plan: plan, seed: config.seed, epoch: epoch, rank: communicator.rank, worldSize: communicator.size)
            for t in 0..<stepsPerEpoch {
                if let maxSteps = config.maxSteps, globalStep >= maxSteps { break epochs }
                let n = order.samples(step: t, into: indices)
                let shards = self.shards, indices = self.indices
                BatchAssembler.assemble(count: n, digits: shards.digits, row: { shards.row(of: indices[$0]) }, sampleIndex: { indices[$0] },
                                        noise: noise, epoch: epoch, factor: config.noiseFactor,
                                        clean: clean.pointer, noisy: model.input.pointer)
                let loss = try step.run(target: clean.pointer, batch: n, globalBatch: plan.globalBatch, segments: segments)
                guard loss.isFinite else {
                    throw TrainingError.nonFiniteLoss(step: globalStep, epoch: epoch, loss: loss)
                }
                losses.append(loss)
                imagesSinceLog += plan.globalBatch
                if config.logEvery > 0 && globalStep % config.logEvery == 0 {
                    let now = Clock.seconds()
                    onLog(StepLog(step: globalStep, epoch: epoch, loss: loss, imagesPerSecond: Double(imagesSinceLog) / (now - clock),
                                  communicationSeconds: step.lastCommunicationWait))
                    clock = now
                    imagesSinceLog = 0
                }
                if config.consistencyEvery > 0 && globalStep % config.consistencyEvery == 0 { try checkRanksAgree() }
            }
        }
        try checkRanksAgree()
        if config.batchNorm == .local { try RankConsistency.averageRunningStatistics(model) }
        return losses
    }

    /// Aborts (by throwing, on every rank) when any rank's parameters differ from rank 0's.
    public func checkRanksAgree() throws {
        guard try RankConsistency.ranksAgree(model, scratch: scratch) else {
            throw TrainingError.ranksDiverged(step: globalStep)
        }
    }
}

public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case nonFiniteLoss(step: Int, epoch: Int, loss: Double)
    case ranksDiverged(step: Int)

    public var description: String {
        switch self {
        case .nonFiniteLoss(let step, let epoch, let loss):
            return "the loss became \(loss) at step \(step) (epoch \(epoch)); training stopped. Lower --lr, or check the data."
        case .ranksDiverged(let step):
            return "ranks hold different parameters at step \(step): they have drifted apart. This is a bug or a faulty node; the job is stopped."
        }
    }
}
