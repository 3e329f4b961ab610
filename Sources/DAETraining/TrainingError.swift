/// Why a training run stopped with an error: each names what happened and what to do.
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
