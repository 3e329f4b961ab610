import DAECore
import DAEData
import Foundation

/// Saving a run's training state (`last.safetensors`: model, Adam, position, early stopping)
/// and resuming from one. Every rank calls it at the same points (with `--bn local` saving is
/// a collective); rank 0's observer writes the file.
final class Checkpointer {
    let model: Autoencoder
    let optimizer: Adam
    let communicator: Communicator
    let config: TrainingConfig
    /// The global step whose training state `last.safetensors` holds, when this run wrote it
    /// (the same on every rank): the run's end does not write the same state twice.
    var savedAtStep: Int?

    init(model: Autoencoder, optimizer: Adam, communicator: Communicator, config: TrainingConfig) {
        (self.model, self.optimizer, self.communicator, self.config) = (model, optimizer, communicator, config)
    }

    /// Saves the training state at `position`. Call on every rank.
    func save(position: TrainingPosition, earlyStopping: EarlyStopping, to observer: RunObserver) throws {
        try averageLocalRunningStatistics()
        try write(position: position, earlyStopping: earlyStopping, to: observer)
    }

    /// Rank 0's half of `save`, for when the statistics are already averaged.
    func write(position: TrainingPosition, earlyStopping: EarlyStopping, to observer: RunObserver, logged: Bool = true) throws {
        try observer.saveTrainingState(TrainingState.encode(model: model, optimizer: optimizer, position: position, earlyStopping: earlyStopping,
                                                            config: config, worldSize: communicator.size),
                                       epoch: position.epoch, step: optimizer.step, logged: logged)
        savedAtStep = optimizer.step
    }

    /// When a file of the run could not be written (a full disk, an I/O error), rank 0 still
    /// tries to save the training state (another, usually larger, file: it may fit where a
    /// picture did not), so the run can resume once there is room. Files are written between
    /// steps, so the state is a whole step's.
    func saveAfterWriteFailure(_ error: Error, position: TrainingPosition, earlyStopping: EarlyStopping, observer: RunObserver) {
        let failed: String
        switch error {
        case let error as AtomicFileError: failed = error.path
        case TrainingError.cannotWrite(let path, _): failed = path
        default: return
        }
        guard failed != observer.lastPath else { return }
        do {
            try write(position: position, earlyStopping: earlyStopping, to: observer, logged: false)
            observer.say("dae-dist: the training state after step \(optimizer.step) is saved in \(observer.lastPath); "
                         + "once there is room, continue with --resume auto --out-dir \(observer.outDir)")
        } catch {
            observer.say("dae-dist: the training state could not be saved either: \(error)")
        }
    }

    /// With `--bn local`, each rank's running statistics are its own: before they are saved or
    /// validated with, all ranks average them (a collective; nothing to do in sync mode).
    func averageLocalRunningStatistics() throws {
        if config.batchNorm == .local { try RankConsistency.averageRunningStatistics(model, communicator: communicator) }
    }

    /// The position and early-stopping state of the training state at `path`, after restoring
    /// the model and Adam from it; read by rank 0 and broadcast, so ranks need no shared file
    /// system. Call on every rank.
    func resume(path: String, allowConfigChange: Bool, stepsPerEpoch: Int) throws -> (TrainingPosition, EarlyStopping) {
        var length = [Int64](repeating: -1, count: 1)
        var bytes = Data()
        var refusal = "rank 0 could not read it"
        if communicator.rank == 0 {
            // The model, Adam's two moments and the BatchNorm state, plus the largest header a reader takes.
            let largest = 4 * (3 * model.parameters.count + model.batchNormState.values.count) + 2 * SafeTensors.maxHeaderBytes
            do {
                bytes = try InputFile.read(path, limit: largest)
                length[0] = Int64(bytes.count)
            } catch { refusal = error.reason }
        }
        try length.withUnsafeMutableBytes { try communicator.broadcast($0, root: 0) }
        guard length[0] >= 0 else { throw TrainingError.badCheckpoint(path: path, reason: refusal) }
        if communicator.rank != 0 { bytes = Data(count: Int(length[0])) }
        try bytes.withUnsafeMutableBytes { try communicator.broadcast($0, root: 0) }
        let file = try SafeTensors(data: bytes, source: path)
        let (position, earlyStopping) = try TrainingState.restore(file, model: model, optimizer: optimizer,
                                                                  patience: config.earlyStopPatience, delta: config.earlyStopDelta)
        let changed = TrainingState.trajectoryChanges(file, config: config)
        if !changed.isEmpty && !allowConfigChange {
            throw TrainingError.badCheckpoint(path: path, reason: "it was trained with " + changed.joined(separator: ", ")
                + ", which would change the run's trajectory; resume with the saved settings, or pass --allow-config-change to continue anyway")
        }
        guard position.stepInEpoch <= stepsPerEpoch else {
            throw TrainingError.badCheckpoint(path: path, reason: "it stopped at step \(position.stepInEpoch) of an epoch, but this data and batch size give \(stepsPerEpoch) steps per epoch: resume with the same data, --batch-size and --shards")
        }
        return (position, earlyStopping)
    }
}
