import ArgumentParser
import Foundation
import DAECore
import DAETraining

/// `--collective-timeout`: every command that may run under mpirun.
struct CollectiveOptions: ParsableArguments {
    @Option(name: .customLong("collective-timeout"), help: "Seconds a collective may wait before the job is aborted.")
    var collectiveTimeout: Double = 300

    func validate() throws {
        try Bounds.seconds(collectiveTimeout, "--collective-timeout")
    }
}

/// `--latent-dim`: the model's shape, for every command that builds a model from nothing.
struct LatentOptions: ParsableArguments {
    @Option(name: .setting(RunSetting.latentDim), help: .setting(RunSetting.latentDim))
    var latentDim = TrainingConfig.defaults.latentDim

    func validate() throws {
        // The checkpoint reader's bound too, so what one command writes the others read.
        guard (1...Architecture.maxLatentDim).contains(latentDim) else {
            throw ValidationError("--latent-dim must be between 1 and \(Architecture.maxLatentDim) (got \(latentDim)).")
        }
    }
}

/// Bounds on sizes and durations that come from flags, checked before anything is allocated or
/// waited for: one wording, the bound and why.
enum Bounds {
    /// A day: no single wait (a mirror's answer, a collective) is meant to be longer.
    static let longestWait = 86_400.0

    static func seconds(_ value: Double, _ flag: String) throws {
        guard value > 0, value <= longestWait else {
            throw ValidationError("\(flag) must be a number of seconds above 0 and at most \(Int(longestWait)) (a day); got \(value).")
        }
    }

    /// A batch of `batch` images in one process must fit in half this machine's memory (`MemoryBudget`).
    static func batch(_ batch: Int, latentDim: Int, _ flag: String) throws {
        if let refusal = MemoryBudget.refusal(batch: batch, of: .standard(latentDim: latentDim), what: "\(flag) \(batch)") {
            throw ValidationError(refusal + ".")
        }
    }
}
