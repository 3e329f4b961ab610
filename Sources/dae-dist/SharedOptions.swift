import ArgumentParser
import DAECore
import DAETraining

/// `--collective-timeout`: every command that may run under mpirun.
struct CollectiveOptions: ParsableArguments {
    @Option(name: .customLong("collective-timeout"), help: "Seconds a collective may wait before the job is aborted.")
    var collectiveTimeout: Double = 300

    func validate() throws {
        guard collectiveTimeout > 0, collectiveTimeout.isFinite else { throw ValidationError("--collective-timeout must be a positive number of seconds.") }
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
