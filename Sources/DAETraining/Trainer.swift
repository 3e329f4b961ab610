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
    /// The model's communicator: times every collective of a step (BatchNorm statistics,
    /// gradient buckets, the loss) for the step log, as `dae-dist bench` does.
    private let timedCommunicator: TimedCommunicator
    public let localBatch: Int
    let noise: NoiseGenerator
    private let indices: UnsafeMutablePointer<Int>
    private let clean: FloatBuffer
    private let scratch = DoubleBuffer(count: 1)
    /// This rank's share of the validation hold-out (`validationShare` of it): every rank
    /// validates its share, so validation takes 1/N of the time and no rank waits long.
    public let validationSet: Digits
    public let validationShare: Range<Int>
    public internal(set) var earlyStopping: EarlyStopping
    /// Where the loop is: the next epoch and step to run.
    public internal(set) var position = TrainingPosition()
    /// This rank's shard slices in a step, in batch order: the slices gradients and
    /// BatchNorm statistics are summed by, which makes them world-size invariant.
    private let slices: [Int]
    /// Images per second between logged steps.
    private var logMeter = LogMeter(since: 0)
    /// The global step `run` began at (it differs from 0 after `resume`).
    var stepsAtStart = 0
    /// Whether this run continues an earlier one (`resume`): its loss curve then also takes
    /// the earlier epochs from the out dir's metrics.jsonl.
    var resumed = false
    /// Per validated epoch: (epoch, training loss, validation loss), for the loss curve.
    public internal(set) var history: [(epoch: Int, train: Double, validation: Double)] = []
    public internal(set) var bestEpoch: Int?
    /// The global step whose training state `last.safetensors` holds, when this run wrote it
    /// (the same on every rank): the run's end does not write the same state twice.
    var stateSavedAtStep: Int?

    /// Rank 0's images for `--probe-every`: the first 2,000 training images (the kNN's
    /// references) and the first 1,000 validation images (its queries): the same on any world size.
    lazy var probeSet: (references: Digits, queries: Digits)? = {
        guard communicator.rank == 0, config.probeEvery > 0 else { return nil }
        return try? (splits.loadTraining(ranges: [0..<min(2_000, splits.trainCount)]),
                     splits.loadValidation(part: 0..<min(1_000, splits.validationCount)))
    }()

    /// The test digits rank 0 draws its pictures from and reports the final test error on;
    /// without them (no t10k files) the run goes on, saying so once, without those outputs.
    public private(set) lazy var testSet: Digits? = {
        guard communicator.rank == 0 else { return nil }
        do { return try splits.loadTest() } catch {
            print("dae-dist: no test set, so no sample pictures or test error in summary.json: \(error)")
            return nil
        }
    }()

    /// One line per logged step: global step, epoch, loss, images/s of the global batch, and
    /// the mean seconds per step this rank spent in the step's collectives since the last
    /// line (waiting for slower ranks included; validation's are not counted).
    public struct StepLog: Sendable {
        public let step: Int
        public let epoch: Int
        public let loss: Double
        public let imagesPerSecond: Double
        public let communicationSeconds: Double
        /// The collectives' share of the wall time since the last line.
        public let communicationShare: Double
    }

    public init(config: TrainingConfig, communicator: Communicator) throws {
        self.communicator = communicator
        ComputeThreads.set(config.threads)
        BLAS.precision = config.precision
        splits = try DataSplits(source: config.dataset, validationSize: config.validationSize, limitTrain: config.limitTrain,
                                digits: config.digits)
        plan = try ShardPlan(trainCount: splits.trainCount, shards: config.shards, globalBatch: config.globalBatch, worldSize: communicator.size)
        self.config = config.lengthened(stepsPerEpoch: plan.stepsPerEpoch)
        shards = try splits.loadShards(plan: plan, rank: communicator.rank, worldSize: communicator.size)
        localBatch = plan.localBatch(rank: communicator.rank, worldSize: communicator.size)
        let plan = self.plan
        slices = plan.shardsOwned(rank: communicator.rank, worldSize: communicator.size).map { plan.sliceSizes[$0] }
        timedCommunicator = TimedCommunicator(communicator)
        // Room for one evaluation run at least, so validation batches the same at any world size.
        model = Autoencoder(latentDim: config.latentDim, maxBatch: max(localBatch, Autoencoder.evaluationRun), batchNormStatistics: config.batchNorm,
                            seed: config.seed)
        step = TrainingStep(model: model, optimizer: Adam(parameterCount: model.parameters.count, learningRate: config.learningRate),
                            communicator: timedCommunicator, overlap: config.overlap)
        noise = NoiseGenerator(seed: config.seed, corruption: config.noise)
        validationShare = Trainer.share(of: splits.validationCount, rank: communicator.rank, worldSize: communicator.size)
        validationSet = try splits.loadValidation(part: validationShare)
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
    /// `resume` put it): each epoch's steps, then at the epochs that validate the end-of-epoch
    /// decision (`endEpoch`). `reporter` (rank 0 only) hears every logged step and validation
    /// and writes the files; `onLog` hears logged steps on every rank.
    @discardableResult
    public func run(reporter: RunReporter? = nil, onLog: (StepLog) -> Void = { _ in }) throws -> Outcome {
        do {
            return try runEpochs(reporter: reporter, onLog: onLog)
        } catch where reporter != nil {
            saveStateAfterWriteFailure(error, reporter: reporter!)
            throw error
        }
    }

    /// The epoch loop of `run`.
    private func runEpochs(reporter: RunReporter?, onLog: (StepLog) -> Void) throws -> Outcome {
        let runStart = Clock.seconds()
        stepsAtStart = globalStep
        logMeter = LogMeter(since: runStart)
        var outcome = Outcome.completed
        while position.epoch < config.epochs {
            let epoch = position.epoch
            let epochStart = Clock.seconds(), firstStep = position.stepInEpoch
            if let stopped = try runSteps(epoch: epoch, reporter: reporter, onLog: onLog) {
                if case .interrupted = stopped { return stopped }
                outcome = stopped
                break
            }
            let finished = FinishedEpoch(epoch: epoch, trainLoss: position.epochLossSum / Double(max(position.epochSteps, 1)),
                                         images: (position.stepInEpoch - firstStep) * plan.globalBatch, started: epochStart)
            position = TrainingPosition(epoch: epoch + 1)
            guard validates(epoch: epoch) else { continue }
            if try endEpoch(finished, reporter: reporter).contains(.stop) {
                outcome = .earlyStopped(epoch: epoch)
                break
            }
        }
        try checkRanksAgree()
        if stateSavedAtStep != globalStep { try saveLast(reporter) }
        if let reporter {
            try writeSummary(reporter, started: runStart)
            try reporter.finish()
        }
        return outcome
    }

    /// The steps of `epoch` from `position` on: nil when the epoch is done, else why the run stops.
    private func runSteps(epoch: Int, reporter: RunReporter?, onLog: (StepLog) -> Void) throws -> Outcome? {
        let order = EpochOrder(plan: plan, seed: config.seed, epoch: epoch, rank: communicator.rank, worldSize: communicator.size)
        let epochStart = Clock.seconds(), firstStep = position.stepInEpoch
        while position.stepInEpoch < plan.stepsPerEpoch {
            if let maxSteps = config.maxSteps, globalStep >= maxSteps { return .maxSteps }
            let loss = try trainStep(order: order, epoch: epoch)
            if config.logEvery > 0 && globalStep % config.logEvery == 0 {
                let log = logMeter.log(step: globalStep, epoch: epoch, loss: loss)
                onLog(log)
                try reporter?.step(log)
            }
            let done = position.stepInEpoch
            if let reporter, done % 5 == 0 || done == plan.stepsPerEpoch {
                let seconds = (Clock.seconds() - epochStart) / Double(done - firstStep)
                reporter.progress(epoch: epoch, step: done, of: plan.stepsPerEpoch, imagesPerSecond: Double(plan.globalBatch) / seconds,
                                  secondsPerStep: seconds)
            }
            if config.consistencyEvery > 0 && globalStep % config.consistencyEvery == 0 { try checkRanksAgree() }
            if step.stopRequested {
                try saveLast(reporter)
                return .interrupted(step: globalStep)
            }
            if config.checkpointEvery > 0 && globalStep % config.checkpointEvery == 0 { try saveLast(reporter) }
        }
        return nil
    }

    /// Assembles step `position.stepInEpoch` of `epoch` (this rank's samples, noised), runs the
    /// training step and moves `position` on. Returns the global batch's loss.
    private func trainStep(order: EpochOrder, epoch: Int) throws -> Double {
        let n = order.samples(step: position.stepInEpoch, into: indices)
        let shards = self.shards, indices = self.indices
        BatchAssembler.assemble(count: n, digits: shards.digits, row: { shards.row(of: indices[$0]) }, sampleIndex: { indices[$0] },
                                noise: noise, epoch: epoch, factor: config.noiseFactor, clean: clean.pointer, noisy: model.input.pointer)
        timedCommunicator.reset()
        let loss = try step.run(target: clean.pointer, batch: n, globalBatch: plan.globalBatch, slices: slices, stopRequest: StopSignal.requested)
        logMeter.communicationSeconds += timedCommunicator.seconds
        guard loss.isFinite else { throw TrainingError.nonFiniteLoss(step: globalStep, epoch: epoch, loss: loss) }
        position.stepInEpoch += 1
        position.epochLossSum += loss
        position.epochSteps += 1
        logMeter.images += plan.globalBatch
        logMeter.steps += 1
        return loss
    }

    /// The first epoch, every `validationInterval`-th and the last are validated.
    private func validates(epoch: Int) -> Bool {
        epoch == 0 || (epoch + 1) % config.validationInterval == 0 || epoch + 1 == config.epochs
    }

    /// Saves the training state (model, Adam, position, early stopping) as `last.safetensors`.
    /// Call on every rank: with local BatchNorm the ranks first average their running statistics.
    public func saveLast(_ reporter: RunReporter?) throws {
        try averageLocalRunningStatistics()
        if let reporter { try writeLast(reporter) }
        stateSavedAtStep = globalStep
    }

    /// Rank 0's half of `saveLast`, for when the statistics are already averaged.
    func writeLast(_ reporter: RunReporter, logged: Bool = true) throws {
        try reporter.saveTrainingState(TrainingState.encode(model: model, optimizer: step.optimizer, position: position,
                                                            earlyStopping: earlyStopping, config: config, worldSize: communicator.size),
                                       epoch: position.epoch, step: globalStep, logged: logged)
    }

    /// When a file of the run could not be written (a full disk, an I/O error), rank 0 still
    /// tries to save the training state (another, usually larger, file: it may fit where a
    /// picture did not), so the run can resume once there is room. Files are written between
    /// steps, so the state is a whole step's.
    private func saveStateAfterWriteFailure(_ error: Error, reporter: RunReporter) {
        let failed: String
        switch error {
        case let error as AtomicFileError: failed = error.path
        case TrainingError.cannotWrite(let path, _): failed = path
        default: return
        }
        guard failed != reporter.lastPath else { return }
        do {
            try writeLast(reporter, logged: false)
            reporter.say("dae-dist: the training state after step \(globalStep) is saved in \(reporter.lastPath); "
                         + "once there is room, continue with --resume auto --out-dir \(reporter.outDir)")
        } catch {
            reporter.say("dae-dist: the training state could not be saved either: \(error)")
        }
    }

    /// With `--bn local`, each rank's running statistics are its own: before they are saved or
    /// validated with, all ranks average them (a collective; nothing to do in sync mode).
    func averageLocalRunningStatistics() throws {
        if config.batchNorm == .local { try RankConsistency.averageRunningStatistics(model, communicator: communicator) }
    }

    /// Aborts (by throwing, on every rank) when any rank's parameters differ from rank 0's.
    public func checkRanksAgree() throws {
        guard try RankConsistency.ranksAgree(model, communicator: communicator, scratch: scratch) else {
            throw TrainingError.ranksDiverged(step: globalStep)
        }
    }
}

/// Images per second of the global batch, and seconds per step in collectives, between two
/// logged steps.
private struct LogMeter {
    var since: Double
    var images = 0
    var steps = 0
    var communicationSeconds: Double = 0

    mutating func log(step: Int, epoch: Int, loss: Double) -> Trainer.StepLog {
        let now = Clock.seconds()
        defer { (since, images, steps, communicationSeconds) = (now, 0, 0, 0) }
        let perStep = communicationSeconds / Double(max(steps, 1))
        return Trainer.StepLog(step: step, epoch: epoch, loss: loss, imagesPerSecond: Double(images) / (now - since),
                               communicationSeconds: perStep, communicationShare: communicationSeconds / (now - since))
    }
}
