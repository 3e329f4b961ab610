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
    /// Where the loop is: the next epoch and step to run.
    public private(set) var position = TrainingPosition()
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
        /// SIGINT or SIGTERM reached a rank; the training state was saved after the step.
        case interrupted(step: Int)
    }

    /// Runs until `epochs`, `maxSteps` or early stopping, from `position` (the start, or where
    /// `resume` put it). `reporter` (rank 0 only) hears every logged step and validation and
    /// writes the files; `onLog` hears logged steps on every rank. Decisions (early stopping)
    /// are made on rank 0 and broadcast, so all ranks leave the loop together.
    @discardableResult
    public func run(reporter: RunReporter? = nil, onLog: (StepLog) -> Void = { _ in }) throws -> Outcome {
        let stepsPerEpoch = plan.stepsPerEpoch
        var clock = Clock.seconds()
        var imagesSinceLog = 0
        var outcome = Outcome.completed
        var decision = [UInt8](repeating: 0, count: 1)
        let runStart = Clock.seconds()
        stepsAtStart = globalStep
        epochs: while position.epoch < config.epochs {
            let epoch = position.epoch
            let order = EpochOrder(plan: plan, seed: config.seed, epoch: epoch, rank: communicator.rank, worldSize: communicator.size)
            let epochStart = Clock.seconds(), firstStep = position.stepInEpoch
            while position.stepInEpoch < stepsPerEpoch {
                if let maxSteps = config.maxSteps, globalStep >= maxSteps { outcome = .maxSteps; break epochs }
                let t = position.stepInEpoch
                let n = order.samples(step: t, into: indices)
                let shards = self.shards, indices = self.indices
                BatchAssembler.assemble(count: n, digits: shards.digits, row: { shards.row(of: indices[$0]) }, sampleIndex: { indices[$0] },
                                        noise: noise, epoch: epoch, factor: config.noiseFactor,
                                        clean: clean.pointer, noisy: model.input.pointer)
                let loss = try step.run(target: clean.pointer, batch: n, globalBatch: plan.globalBatch, segments: segments)
                guard loss.isFinite else {
                    throw TrainingError.nonFiniteLoss(step: globalStep, epoch: epoch, loss: loss)
                }
                position.stepInEpoch += 1
                position.epochLossSum += loss
                position.epochSteps += 1
                imagesSinceLog += plan.globalBatch
                if config.logEvery > 0 && globalStep % config.logEvery == 0 {
                    let now = Clock.seconds()
                    let log = StepLog(step: globalStep, epoch: epoch, loss: loss, imagesPerSecond: Double(imagesSinceLog) / (now - clock),
                                      communicationSeconds: step.lastCommunicationWait)
                    onLog(log)
                    try reporter?.step(log)
                    clock = now
                    imagesSinceLog = 0
                }
                if let reporter, (t + 1) % 5 == 0 || t + 1 == stepsPerEpoch {
                    let seconds = (Clock.seconds() - epochStart) / Double(t + 1 - firstStep)
                    reporter.progress(epoch: epoch, step: t + 1, of: stepsPerEpoch, imagesPerSecond: Double(plan.globalBatch) / seconds,
                                      secondsPerStep: seconds)
                }
                if config.consistencyEvery > 0 && globalStep % config.consistencyEvery == 0 { try checkRanksAgree() }
                if step.stopRequested {
                    if config.batchNorm == .local { try RankConsistency.averageRunningStatistics(model) }
                    if let reporter { try saveLast(reporter) }
                    return .interrupted(step: globalStep)
                }
                if config.checkpointEvery > 0 && globalStep % config.checkpointEvery == 0 {
                    if config.batchNorm == .local { try RankConsistency.averageRunningStatistics(model) }
                    if let reporter { try saveLast(reporter) }
                }
            }
            let trainLoss = position.epochLossSum / Double(max(position.epochSteps, 1))
            let epochImages = (position.stepInEpoch - firstStep) * plan.globalBatch
            position = TrainingPosition(epoch: epoch + 1)
            guard epoch == 0 || (epoch + 1) % config.validationInterval == 0 || epoch + 1 == config.epochs else { continue }
            if config.batchNorm == .local { try RankConsistency.averageRunningStatistics(model) }
            decision[0] = 0
            if let reporter {
                let validation = validationLoss()
                let verdict = earlyStopping.update(validationLoss: validation)
                try reporter.validation(epoch: epoch, step: globalStep, trainLoss: trainLoss, validationLoss: validation,
                                    message: EarlyStopping.message(verdict),
                                    imagesPerSecond: Double(epochImages) / (Clock.seconds() - epochStart))
                history.append((epoch + 1, trainLoss, validation))
                if let test = testSet {
                    let pictures = Evaluation.reconstructions(model: model, digits: test, noise: noise, factor: 0.3, count: 10)
                    try reporter.samplePicture(epoch: epoch, pictures)
                }
                if case .improved = verdict {
                    bestEpoch = epoch + 1
                    try ModelCheckpoint.save(model, to: reporter.bestPath, metadata: bestMetadata(epoch: epoch, validationLoss: validation))
                    try reporter.checkpointSaved(kind: "best", path: reporter.bestPath, epoch: epoch, step: globalStep)
                }
                try saveLast(reporter)
                if case .stop = verdict {
                    decision[0] = 1
                    try reporter.earlyStop(epoch: epoch, best: earlyStopping.best)
                }
            }
            try decision.withUnsafeMutableBytes { try communicator.broadcast($0, root: 0) }
            if decision[0] == 1 { outcome = .earlyStopped(epoch: epoch); break }
        }
        try checkRanksAgree()
        if config.batchNorm == .local { try RankConsistency.averageRunningStatistics(model) }
        if let reporter {
            try saveLast(reporter)
            try writeSummary(reporter, started: runStart)
            try reporter.finish()
        }
        return outcome
    }

    /// Continues from a training state written by `saveLast` (`last.safetensors`), read by
    /// rank 0 and broadcast, so ranks need no shared file system. Call on every rank.
    public func resume(path: String, allowConfigChange: Bool = false) throws {
        var length = [Int64](repeating: -1, count: 1)
        var bytes = Data()
        if communicator.rank == 0 {
            if let data = FileManager.default.contents(atPath: path) {
                bytes = data
                length[0] = Int64(data.count)
            }
        }
        try length.withUnsafeMutableBytes { try communicator.broadcast($0, root: 0) }
        guard length[0] >= 0 else { throw TrainingError.badCheckpoint(path: path, reason: "no such file (rank 0 could not read it)") }
        if communicator.rank != 0 { bytes = Data(count: Int(length[0])) }
        try bytes.withUnsafeMutableBytes { try communicator.broadcast($0, root: 0) }
        let file = try SafeTensors(data: bytes, source: path)
        (position, earlyStopping) = try TrainingState.restore(file, model: model, optimizer: step.optimizer,
                                                             patience: config.earlyStopPatience, delta: config.earlyStopDelta)
        let changed = TrainingState.trajectoryChanges(file, config: config)
        if !changed.isEmpty && !allowConfigChange {
            throw TrainingError.badCheckpoint(path: path, reason: "it was trained with " + changed.joined(separator: ", ")
                + ", which would change the run's trajectory; resume with the saved settings, or pass --allow-config-change to continue anyway")
        }
        guard position.stepInEpoch <= plan.stepsPerEpoch else {
            throw TrainingError.badCheckpoint(path: path, reason: "it stopped at step \(position.stepInEpoch) of an epoch, but this data and batch size give \(plan.stepsPerEpoch) steps per epoch: resume with the same data, --batch-size and --shards")
        }
        resumed = true
    }

    /// Whether this run continues an earlier one (`resume`): its loss curve then also takes
    /// the earlier epochs from the out dir's metrics.jsonl.
    private var resumed = false

    /// Mean squared error of the model (eval mode) on the validation hold-out, inputs noised
    /// with the fixed validation noise. Rank 0 only; no collectives.
    public func validationLoss() -> Double {
        guard let validation = validationSet else { return .nan }
        return Evaluation.meanSquaredError(model: model, digits: validation, noise: noise, factor: config.noiseFactor,
                                           noiseEpoch: NoiseGenerator.validationEpoch).mse
    }

    /// The test digits rank 0 draws its pictures from and reports the final test error on;
    /// without them (no t10k files) the run goes on, saying so once, without those outputs.
    public private(set) lazy var testSet: Digits? = {
        guard communicator.rank == 0 else { return nil }
        do { return try splits.loadTest() } catch {
            print("dae-dist: no test set, so no sample pictures or test error in summary.json: \(error)")
            return nil
        }
    }()

    /// Per validated epoch: (epoch, training loss, validation loss), for the loss curve.
    public private(set) var history: [(epoch: Int, train: Double, validation: Double)] = []
    public private(set) var bestEpoch: Int?

    /// `summary.json` and the loss curve, at the end of a run (rank 0).
    private func writeSummary(_ reporter: RunReporter, started: Double) throws {
        var fields: [(String, Any?)] = [("best_validation_loss", earlyStopping.best), ("best_epoch", bestEpoch),
                                        ("steps", globalStep), ("world_size", communicator.size)]
        if let test = testSet {
            for factor: Float in [0.1, 0.3] {
                let mse = Evaluation.meanSquaredError(model: model, digits: test, noise: noise, factor: factor, noiseEpoch: NoiseGenerator.testEpoch).mse
                fields.append(("test_mse_noise_\(factor)", mse))
                fields.append(("test_psnr_noise_\(factor)", Evaluation.psnr(mse)))
            }
        }
        fields.append(("total_time_sec", reporter.elapsed))
        fields.append(("images_per_sec", Double((globalStep - stepsAtStart) * plan.globalBatch) / max(Clock.seconds() - started, 1e-9)))
        try reporter.summary(fields, history: resumed ? reporter.loggedHistory(before: history) + history : history)
    }

    private var stepsAtStart = 0

    private func bestMetadata(epoch: Int, validationLoss: Double) -> [String: String] {
        ["epoch": String(epoch + 1), "step": String(globalStep), "world_size": String(communicator.size),
         "latent_dim": String(config.latentDim), "validation_loss": String(validationLoss)]
    }

    /// Writes the training state (model, Adam, position, early stopping) to `last.safetensors`.
    public func saveLast(_ reporter: RunReporter) throws {
        let data = TrainingState.encode(model: model, optimizer: step.optimizer, position: position, earlyStopping: earlyStopping,
                                        config: config, worldSize: communicator.size)
        try AtomicFile.write(data, to: reporter.lastPath)
        try reporter.checkpointSaved(kind: "last", path: reporter.lastPath, epoch: position.epoch, step: globalStep)
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
    case badCheckpoint(path: String, reason: String)
    case runDirectoryInUse(directory: String, holder: String)

    public var description: String {
        switch self {
        case .nonFiniteLoss(let step, let epoch, let loss):
            return "the loss became \(loss) at step \(step) (epoch \(epoch)); training stopped. Lower --lr, or check the data."
        case .ranksDiverged(let step):
            return "ranks hold different parameters at step \(step): they have drifted apart. This is a bug or a faulty node; the job is stopped."
        case .cannotWrite(let path, let reason):
            return "\(path): \(reason). Check --out-dir and free disk space."
        case .runDirectoryInUse(let directory, let holder):
            return "\(directory): another training is running into this folder (\(holder), by its lock file .lock). "
                + "Wait for it to end, stop it, or choose another --out-dir."
        case .badCheckpoint(let path, let reason):
            return "\(path): cannot resume from it: \(reason)."
        }
    }
}
