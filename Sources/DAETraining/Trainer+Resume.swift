import DAECore
import Foundation

extension Trainer {
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
}
