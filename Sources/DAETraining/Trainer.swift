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
    /// The validation hold-out, on rank 0 only.
    public let validationSet: Digits?
    public private(set) var earlyStopping: EarlyStopping
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
        validationSet = communicator.rank == 0 ? try splits.loadValidation() : nil
        earlyStopping = EarlyStopping(patience: config.earlyStopPatience, delta: config.earlyStopDelta)
        indices = .allocate(capacity: localBatch)
        clean = FloatBuffer(count: localBatch * Architecture.imagePixels)
    }

    deinit { indices.deallocate() }

    public var globalStep: Int { step.optimizer.step }

    /// Why `run` stopped.
    public enum Outcome: Sendable, Equatable {
        case completed
        case maxSteps
        case earlyStopped(epoch: Int)
    }

    /// Runs until `epochs`, `maxSteps` or early stopping. `reporter` (rank 0 only) hears every
    /// logged step and validation and writes the files; `onLog` hears logged steps on every rank.
    /// Decisions (early stopping) are made on rank 0 and broadcast, so all ranks leave together.
    @discardableResult
    public func run(reporter: RunReporter? = nil, onLog: (StepLog) -> Void = { _ in }) throws -> Outcome {
        let stepsPerEpoch = plan.stepsPerEpoch
        var clock = Clock.seconds()
        var imagesSinceLog = 0
        var outcome = Outcome.completed
        var decision = [UInt8](repeating: 0, count: 1)
        var currentEpoch = 0
        epochs: for epoch in 0..<config.epochs {
            currentEpoch = epoch
            let order = EpochOrder(plan: plan, seed: config.seed, epoch: epoch, rank: communicator.rank, worldSize: communicator.size)
            var epochLoss = 0.0, epochSteps = 0
            let epochStart = Clock.seconds()
            for t in 0..<stepsPerEpoch {
                if let maxSteps = config.maxSteps, globalStep >= maxSteps { outcome = .maxSteps; break epochs }
                let n = order.samples(step: t, into: indices)
                let shards = self.shards, indices = self.indices
                BatchAssembler.assemble(count: n, digits: shards.digits, row: { shards.row(of: indices[$0]) }, sampleIndex: { indices[$0] },
                                        noise: noise, epoch: epoch, factor: config.noiseFactor,
                                        clean: clean.pointer, noisy: model.input.pointer)
                let loss = try step.run(target: clean.pointer, batch: n, globalBatch: plan.globalBatch, segments: segments)
                guard loss.isFinite else {
                    throw TrainingError.nonFiniteLoss(step: globalStep, epoch: epoch, loss: loss)
                }
                epochLoss += loss
                epochSteps += 1
                imagesSinceLog += plan.globalBatch
                if config.logEvery > 0 && globalStep % config.logEvery == 0 {
                    let now = Clock.seconds()
                    let log = StepLog(step: globalStep, epoch: epoch, loss: loss, imagesPerSecond: Double(imagesSinceLog) / (now - clock),
                                      communicationSeconds: step.lastCommunicationWait)
                    onLog(log)
                    reporter?.step(log)
                    clock = now
                    imagesSinceLog = 0
                }
                if let reporter, (t + 1) % 5 == 0 || t + 1 == stepsPerEpoch {
                    let seconds = (Clock.seconds() - epochStart) / Double(t + 1)
                    reporter.progress(epoch: epoch, step: t + 1, of: stepsPerEpoch, imagesPerSecond: Double(plan.globalBatch) / seconds,
                                      secondsPerStep: seconds)
                }
                if config.consistencyEvery > 0 && globalStep % config.consistencyEvery == 0 { try checkRanksAgree() }
                if config.checkpointEvery > 0 && globalStep % config.checkpointEvery == 0, let reporter {
                    try saveLast(reporter, epoch: epoch)
                }
            }
            let lastEpoch = epoch + 1 == config.epochs
            guard epoch == 0 || (epoch + 1) % config.validationInterval == 0 || lastEpoch else { continue }
            if config.batchNorm == .local { try RankConsistency.averageRunningStatistics(model) }
            decision[0] = 0
            if let reporter {
                let trainLoss = epochLoss / Double(max(epochSteps, 1))
                let validation = validationLoss()
                let verdict = earlyStopping.update(validationLoss: validation)
                reporter.validation(epoch: epoch, step: globalStep, trainLoss: trainLoss, validationLoss: validation,
                                    message: EarlyStopping.message(verdict),
                                    imagesPerSecond: Double(epochSteps * plan.globalBatch) / (Clock.seconds() - epochStart))
                if case .improved = verdict {
                    try ModelCheckpoint.save(model, to: reporter.bestPath, metadata: checkpointMetadata(epoch: epoch, validationLoss: validation))
                    reporter.checkpointSaved(kind: "best", path: reporter.bestPath, epoch: epoch, step: globalStep)
                }
                try saveLast(reporter, epoch: epoch)
                if case .stop = verdict {
                    decision[0] = 1
                    reporter.earlyStop(epoch: epoch, best: earlyStopping.best)
                }
            }
            try decision.withUnsafeMutableBytes { try communicator.broadcast($0, root: 0) }
            if decision[0] == 1 { outcome = .earlyStopped(epoch: epoch); break }
        }
        try checkRanksAgree()
        if config.batchNorm == .local { try RankConsistency.averageRunningStatistics(model) }
        if let reporter {
            try saveLast(reporter, epoch: currentEpoch)
            reporter.finish()
        }
        return outcome
    }

    /// Mean squared error of the model (eval mode) on the validation hold-out, inputs noised
    /// with the fixed validation noise. Rank 0 only; no collectives.
    public func validationLoss() -> Double {
        guard let validation = validationSet else { return .nan }
        var sum = 0.0
        var start = 0
        while start < validation.count {
            let n = min(localBatch, validation.count - start)
            BatchAssembler.assemble(count: n, digits: validation, row: { start + $0 }, sampleIndex: { validation.sampleIndices[start + $0] },
                                    noise: noise, epoch: NoiseGenerator.validationEpoch, factor: config.noiseFactor,
                                    clean: clean.pointer, noisy: model.input.pointer)
            try? model.forward(batch: n, training: false)  // eval mode makes no collective call and cannot fail
            sum += model.sumOfSquaredErrors(target: clean.pointer, batch: n)
            start += n
        }
        return sum / Double(validation.count * Architecture.imagePixels)
    }

    private func checkpointMetadata(epoch: Int, validationLoss: Double?) -> [String: String] {
        var metadata = ["epoch": String(epoch + 1), "step": String(globalStep), "world_size": String(communicator.size),
                        "latent_dim": String(config.latentDim)]
        if let validationLoss { metadata["validation_loss"] = String(validationLoss) }
        return metadata
    }

    private func saveLast(_ reporter: RunReporter, epoch: Int) throws {
        try ModelCheckpoint.save(model, to: reporter.lastPath, metadata: checkpointMetadata(epoch: epoch, validationLoss: earlyStopping.best))
        reporter.checkpointSaved(kind: "last", path: reporter.lastPath, epoch: epoch, step: globalStep)
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
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case .nonFiniteLoss(let step, let epoch, let loss):
            return "the loss became \(loss) at step \(step) (epoch \(epoch)); training stopped. Lower --lr, or check the data."
        case .ranksDiverged(let step):
            return "ranks hold different parameters at step \(step): they have drifted apart. This is a bug or a faulty node; the job is stopped."
        case .cannotWrite(let path, let reason):
            return "\(path): \(reason). Check --out-dir and free disk space."
        }
    }
}
