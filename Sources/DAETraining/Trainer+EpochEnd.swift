import DAECore
import DAEData
import Foundation

/// The end of a validated epoch: rank 0 validates and decides what follows (an improved
/// model, early stopping), writes what the decision says, and broadcasts the decision, so
/// every rank leaves the loop together.
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
    func endEpoch(_ finished: FinishedEpoch, reporter: RunReporter?) throws -> EpochDecision {
        try averageLocalRunningStatistics()
        let validation = try validationLoss()
        var decision = EpochDecision()
        if let reporter {
            let verdict = earlyStopping.update(validationLoss: validation)
            if case .improved = verdict { decision.insert(.improved) }
            if case .stop = verdict { decision.insert(.stop) }
            try report(finished, validationLoss: validation, message: EarlyStopping.message(verdict), decision: decision, to: reporter)
        }
        var byte = [decision.rawValue]
        try byte.withUnsafeMutableBytes { try communicator.broadcast($0, root: 0) }
        stateSavedAtStep = globalStep  // rank 0's report wrote last.safetensors
        return EpochDecision(rawValue: byte[0])
    }

    /// Rank 0's outputs of an epoch's end: the validation line, the sample picture, the
    /// checkpoints the decision calls for, the early-stop line.
    private func report(_ finished: FinishedEpoch, validationLoss: Double, message: String, decision: EpochDecision,
                        to reporter: RunReporter) throws {
        let epoch = finished.epoch
        try reporter.validation(epoch: epoch, step: globalStep, trainLoss: finished.trainLoss, validationLoss: validationLoss, message: message,
                                imagesPerSecond: Double(finished.images) / (Clock.seconds() - finished.started),
                                knnAccuracy: config.probeEvery > 0 && (history.count + 1) % config.probeEvery == 0 ? probeAccuracy() : nil)
        history.append((epoch + 1, finished.trainLoss, validationLoss))
        if let test = testSet {
            try reporter.samplePicture(epoch: epoch, step: globalStep, Evaluation.reconstructions(model: model, digits: test, noise: noise, factor: 0.3, count: 10))
        }
        if decision.contains(.improved) {
            bestEpoch = epoch + 1
            try reporter.saveBest(model, metadata: ["epoch": String(epoch + 1), "step": String(globalStep), "world_size": String(communicator.size),
                                                    "latent_dim": String(config.latentDim), "validation_loss": String(validationLoss),
                                                    "val_size": String(config.validationSize), "digits": config.digits.map(DigitList.text) ?? "all"],
                                  epoch: epoch, step: globalStep)
        }
        try writeLast(reporter)
        if decision.contains(.stop) { try reporter.earlyStop(epoch: epoch, best: earlyStopping.best) }
    }

    /// The latent code's 5-nearest-neighbour accuracy on `probeSet` (rank 0; no collectives).
    func probeAccuracy() -> Double? {
        guard let (references, queries) = probeSet else { return nil }
        return Probe(dims: model.latentDim, train: Evaluation.latentCodes(model: model, digits: references), trainLabels: references.labels,
                     test: Evaluation.latentCodes(model: model, digits: queries), testLabels: queries.labels).knnAccuracy(k: 5)
    }

    /// Mean squared error of the model (eval mode) on the validation hold-out, inputs noised
    /// with the fixed validation noise. Call on every rank: each evaluates its share, and the
    /// images' errors are all-reduced (each image's from the one rank that has it, plus zeros)
    /// and added in image order, so the number is the one a single rank computes.
    public func validationLoss() throws -> Double {
        let local = Evaluation.sumsOfSquaredErrors(model: model, digits: validationSet, noise: noise, factor: config.noiseFactor,
                                                   noiseEpoch: NoiseGenerator.validationEpoch)
        guard communicator.size > 1 else { return Evaluation.meanSquaredError(ofSums: local) }
        let all = DoubleBuffer(count: splits.validationCount)
        all.fill(0)
        for (i, error) in local.enumerated() { all[validationShare.lowerBound + i] = error }
        try communicator.allReduceSum(all.buffer)
        return Evaluation.meanSquaredError(ofSums: all.array)
    }

    /// Rank `rank`'s share of `count` validation images: whole evaluation runs (see
    /// `Evaluation`), contiguous, as even as runs allow.
    static func share(of count: Int, rank: Int, worldSize: Int) -> Range<Int> {
        let run = Autoencoder.evaluationRun
        let runs = (count + run - 1) / run
        let first = runs * rank / worldSize, last = runs * (rank + 1) / worldSize
        return min(count, first * run)..<min(count, last * run)
    }

    /// `summary.json` and the loss curve, at the end of a run (rank 0).
    func writeSummary(_ reporter: RunReporter, started: Double) throws {
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
}
