import DAECore
import DAEData
import Foundation

/// The training loop of one rank: the epochs and their steps. Its parts: `TrainingBatches`
/// (this rank's samples of each step), `TrainingStep` (forward, backward, all-reduce, Adam),
/// `Validator` (the validation, probe and test sets), `Checkpointer` (saving and resuming),
/// and the `RunObserver` that hears what happens (rank 0's writes the run's files). Every rank
/// runs the same loop and enters the same collectives in the same order.
public final class Trainer {
    public let config: TrainingConfig
    public let communicator: Communicator
    public let splits: DataSplits
    public let model: Autoencoder
    public let step: TrainingStep
    let batches: TrainingBatches
    let validator: Validator
    let checkpointer: Checkpointer
    /// The step's communicator: times every collective of a step (BatchNorm statistics,
    /// gradient buckets, the loss) for the step log, as `dae-dist bench` does.
    private let timedCommunicator: TimedCommunicator
    private let scratch = DoubleBuffer(count: 1)
    public internal(set) var earlyStopping: EarlyStopping
    /// Where the loop is: the next epoch and step to run.
    public internal(set) var position = TrainingPosition()
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

    public var plan: ShardPlan { batches.plan }
    public var localBatch: Int { batches.localBatch }
    public var globalStep: Int { step.optimizer.step }

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
        let plan = try ShardPlan(trainCount: splits.trainCount, shards: config.shards, globalBatch: config.globalBatch, worldSize: communicator.size)
        self.config = config.lengthened(stepsPerEpoch: plan.stepsPerEpoch)
        let localBatch = plan.localBatch(rank: communicator.rank, worldSize: communicator.size)
        if let refusal = MemoryBudget.refusal(batch: localBatch, of: .standard(latentDim: config.latentDim), ranksOnNode: communicator.node.ranks,
                                              what: "--batch-size \(config.globalBatch)") {
            throw TrainingError.batchTooLarge(reason: refusal)
        }
        batches = try TrainingBatches(splits: splits, plan: plan, config: config, communicator: communicator)
        timedCommunicator = TimedCommunicator(communicator)
        // Room for one evaluation run at least, so validation batches the same at any world size.
        model = Autoencoder(latentDim: config.latentDim, maxBatch: max(batches.localBatch, Autoencoder.evaluationRun),
                            batchNormStatistics: config.batchNorm, seed: config.seed)
        step = TrainingStep(model: model, optimizer: Adam(parameterCount: model.parameters.count, learningRate: config.learningRate),
                            communicator: timedCommunicator, overlap: config.overlap)
        validator = try Validator(splits: splits, config: config, communicator: communicator)
        checkpointer = Checkpointer(model: model, optimizer: step.optimizer, communicator: communicator, config: self.config)
        earlyStopping = EarlyStopping(patience: config.earlyStopPatience, delta: config.earlyStopDelta)
    }

    /// Why `run` stopped.
    public enum Outcome: Sendable, Equatable {
        case completed
        case maxSteps
        case earlyStopped(epoch: Int)
        /// SIGINT or SIGTERM reached a rank; the training state was saved after the step.
        case interrupted(step: Int)
    }

    /// Continues from a training state written by a run (`last.safetensors`). Call on every rank.
    public func resume(path: String, allowConfigChange: Bool = false) throws {
        (position, earlyStopping) = try checkpointer.resume(path: path, allowConfigChange: allowConfigChange, stepsPerEpoch: plan.stepsPerEpoch)
        resumed = true
    }

    /// Runs until `epochs`, `maxSteps` or early stopping, from `position` (the start, or where
    /// `resume` put it): each epoch's steps, then at the epochs that validate the end-of-epoch
    /// decision (`endEpoch`). `observer` hears every logged step and validation (rank 0's
    /// writes the files); `onLog` hears logged steps on every rank.
    @discardableResult
    public func run(observer: RunObserver, onLog: (StepLog) -> Void = { _ in }) throws -> Outcome {
        do {
            return try runEpochs(observer: observer, onLog: onLog)
        } catch {
            checkpointer.saveAfterWriteFailure(error, position: position, earlyStopping: earlyStopping, observer: observer)
            throw error
        }
    }

    /// The epoch loop of `run`.
    private func runEpochs(observer: RunObserver, onLog: (StepLog) -> Void) throws -> Outcome {
        let runStart = Clock.seconds()
        stepsAtStart = globalStep
        logMeter = LogMeter(since: runStart)
        var outcome = Outcome.completed
        while position.epoch < config.epochs {
            let epoch = position.epoch
            let epochStart = Clock.seconds(), firstStep = position.stepInEpoch
            if let stopped = try runSteps(epoch: epoch, observer: observer, onLog: onLog) {
                if case .interrupted = stopped { return stopped }
                outcome = stopped
                break
            }
            let finished = FinishedEpoch(epoch: epoch, trainLoss: position.epochLossSum / Double(max(position.epochSteps, 1)),
                                         images: (position.stepInEpoch - firstStep) * plan.globalBatch, started: epochStart)
            position = TrainingPosition(epoch: epoch + 1)
            guard validates(epoch: epoch) else { continue }
            if try endEpoch(finished, observer: observer).contains(.stop) {
                outcome = .earlyStopped(epoch: epoch)
                break
            }
        }
        try checkRanksAgree()
        if checkpointer.savedAtStep != globalStep { try saveLast(observer) }
        try writeSummary(observer, started: runStart)
        try observer.finish()
        return outcome
    }

    /// The steps of `epoch` from `position` on: nil when the epoch is done, else why the run stops.
    private func runSteps(epoch: Int, observer: RunObserver, onLog: (StepLog) -> Void) throws -> Outcome? {
        let order = batches.order(epoch: epoch, communicator: communicator)
        let epochStart = Clock.seconds(), firstStep = position.stepInEpoch
        while position.stepInEpoch < plan.stepsPerEpoch {
            if let maxSteps = config.maxSteps, globalStep >= maxSteps { return .maxSteps }
            let loss = try trainStep(order: order, epoch: epoch)
            if config.logEvery > 0 && globalStep % config.logEvery == 0 {
                let log = logMeter.log(step: globalStep, epoch: epoch, loss: loss)
                onLog(log)
                try observer.step(log)
            }
            let done = position.stepInEpoch
            if done % 5 == 0 || done == plan.stepsPerEpoch {
                let seconds = (Clock.seconds() - epochStart) / Double(done - firstStep)
                observer.progress(epoch: epoch, step: done, of: plan.stepsPerEpoch, imagesPerSecond: Double(plan.globalBatch) / seconds,
                                  secondsPerStep: seconds)
            }
            if config.consistencyEvery > 0 && globalStep % config.consistencyEvery == 0 { try checkRanksAgree() }
            if step.stopRequested {
                try saveLast(observer)
                return .interrupted(step: globalStep)
            }
            if config.checkpointEvery > 0 && globalStep % config.checkpointEvery == 0 { try saveLast(observer) }
        }
        return nil
    }

    /// Assembles step `position.stepInEpoch` of `epoch` (this rank's samples, noised), runs the
    /// training step and moves `position` on. Returns the global batch's loss.
    private func trainStep(order: EpochOrder, epoch: Int) throws -> Double {
        let n = batches.assemble(step: position.stepInEpoch, of: order, epoch: epoch, noisy: model.input.pointer)
        timedCommunicator.reset()
        let loss = try step.run(target: batches.clean.pointer, batch: n, globalBatch: plan.globalBatch, slices: batches.slices,
                                stopRequest: StopSignal.requested)
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

    /// Saves the training state as `last.safetensors`. Call on every rank.
    func saveLast(_ observer: RunObserver) throws {
        try checkpointer.save(position: position, earlyStopping: earlyStopping, to: observer)
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
