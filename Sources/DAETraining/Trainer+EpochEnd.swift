import DAECore
import DAEData
import Foundation

/// The end of a validated epoch: every rank validates its share, rank 0 decides what follows
/// (an improved model, early stopping) and broadcasts the decision, so every rank leaves the
/// loop together; the observer writes what the decision says (rank 0's, the files).
extension Trainer {
    /// What rank 0 decided at the end of an epoch; one byte on the wire.
    struct EpochDecision: OptionSet {
        let rawValue: UInt8
        /// The validation loss improved: `best.safetensors` is written.
        static let improved = EpochDecision(rawValue: 1)
        /// Early stopping: the run ends after this epoch.
        static let stop = EpochDecision(rawValue: 2)
    }

    /// An epoch's numbers, as its steps left them.
    struct FinishedEpoch {
        let epoch: Int
        let trainLoss: Double
        /// Images trained on in this run (fewer than the epoch's when it was resumed mid-way).
        let images: Int
        let started: Double
    }

    /// Call on every rank after `finished`'s last step.
    func endEpoch(_ finished: FinishedEpoch, observer: RunObserver) throws -> EpochDecision {
        try checkpointer.averageLocalRunningStatistics()
        let validation = try validator.validationLoss(model: model, noise: batches.noise)
        var decision = EpochDecision()
        // Every rank has the same loss; rank 0's decision is the one all follow.
        let verdict = earlyStopping.update(validationLoss: validation)
        if case .improved = verdict { decision.insert(.improved) }
        if case .stop = verdict { decision.insert(.stop) }
        var byte = [decision.rawValue]
        try report(finished, validationLoss: validation, message: EarlyStopping.message(verdict), decision: decision, to: observer)
        try byte.withUnsafeMutableBytes { try communicator.broadcast($0, root: 0) }
        return EpochDecision(rawValue: byte[0])
    }

    /// The outputs of an epoch's end: the validation line, the sample picture, the checkpoints
    /// the decision calls for, the early-stop line.
    private func report(_ finished: FinishedEpoch, validationLoss: Double, message: String, decision: EpochDecision,
                        to observer: RunObserver) throws {
        let epoch = finished.epoch, step = globalStep
        let probes = config.probeEvery > 0 && (history.count + 1) % config.probeEvery == 0
        try observer.validation(epoch: epoch, step: step, trainLoss: finished.trainLoss, validationLoss: validationLoss, message: message,
                                imagesPerSecond: Double(finished.images) / (Clock.seconds() - finished.started),
                                knnAccuracy: probes ? self.validator.probeAccuracy(model: self.model) : nil)
        history.append((epoch + 1, finished.trainLoss, validationLoss))
        try observer.samplePicture(epoch: epoch, step: step, self.validator.samples(model: self.model, noise: self.batches.noise))
        if decision.contains(.improved) {
            bestEpoch = epoch + 1
            try observer.saveBest(model, metadata: ["epoch": String(epoch + 1), "step": String(step), "world_size": String(self.communicator.size),
                                                    "latent_dim": String(self.config.latentDim), "validation_loss": String(validationLoss),
                                                    "val_size": String(self.config.validationSize),
                                                    "digits": self.config.digits.map(DigitList.text) ?? "all"],
                                  epoch: epoch, step: step)
        }
        try checkpointer.write(position: position, earlyStopping: earlyStopping, to: observer)
        if decision.contains(.stop) { try observer.earlyStop(epoch: epoch, best: earlyStopping.best) }
    }

    /// `summary.json` and the loss curve, at the end of a run.
    func writeSummary(_ observer: RunObserver, started: Double) throws {
        let imagesPerSecond = Double((globalStep - stepsAtStart) * plan.globalBatch) / max(Clock.seconds() - started, 1e-9)
        try observer.summary([("best_validation_loss", self.earlyStopping.best), ("best_epoch", self.bestEpoch), ("steps", self.globalStep),
                              ("world_size", self.communicator.size)] + self.validator.testMetrics(model: self.model, noise: self.batches.noise),
                             imagesPerSecond: imagesPerSecond, history: history, resumed: resumed)
    }
}
