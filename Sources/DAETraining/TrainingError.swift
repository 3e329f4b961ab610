/// Why a training run stopped with an error: each names what happened and what to do.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case nonFiniteLoss(step: Int, epoch: Int, loss: Double)
    case ranksDiverged(step: Int)
    case cannotWrite(path: String, reason: String)
    case badCheckpoint(path: String, reason: String)
    case runDirectoryInUse(directory: String, holder: String)
    case runDirectoryHoldsARun(directory: String, files: [String])
    case batchTooLarge(reason: String)
    case ranksDisagree(differences: [String])

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
        case .runDirectoryHoldsARun(let directory, let files):
            return "\(directory) holds another run (\(files.joined(separator: ", "))). Continue it with --resume auto --out-dir \(directory), "
                + "or choose a new --out-dir; --overwrite replaces it."
        case .ranksDisagree(let differences):
            return "the ranks do not start from the same inputs: " + differences.joined(separator: "; ") + " differ from rank 0's. "
                + "Give every node the same MNIST files (or let each download them), the same flags and the same dae-dist build."
        case .batchTooLarge(let reason):
            return reason + ". Lower --batch-size, or spread it over more nodes."
        case .badCheckpoint(let path, let reason):
            return "\(path): cannot resume from it: \(reason)."
        }
    }
}
