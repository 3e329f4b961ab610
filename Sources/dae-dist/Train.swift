import ArgumentParser
import DAECore
import DAEData
import DAEDistributed
import DAETraining
import Foundation

/// `dae-dist train` (the default): data-parallel training on every rank `mpirun` started, or
/// on one process without it.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train the denoising autoencoder (run under mpirun for several ranks).")

    enum Dataset: String, ExpressibleByArgument, CaseIterable { case mnist, synthetic }

    @Option(name: .customLong("data-dir"), help: "Folder with the MNIST files (env DAE_DATA_DIR).")
    var dataDir: String = ProcessInfo.processInfo.environment["DAE_DATA_DIR"] ?? "./data/mnist"
    @Option(help: "mnist, or synthetic (procedurally drawn digits, no files needed).")
    var dataset: Dataset = .mnist
    @Flag(inversion: .prefixedNo, help: "Download MNIST into --data-dir when it is missing (rank 0 downloads, the others wait).")
    var download = true
    @Option(help: "Epochs to train.")
    var epochs = 20
    @Option(name: .customLong("batch-size"), help: "Global batch size, summed over all ranks.")
    var batchSize = 256
    @Option(help: "Adam learning rate.")
    var lr: Float = 1e-3
    @Option(name: .customLong("latent-dim"), help: "Size of the latent code.")
    var latentDim = 2
    @Option(name: .customLong("noise-factor"), help: "Std of the Gaussian noise added to inputs.")
    var noiseFactor: Float = 0.1
    @Flag(name: .customLong("no-denoising"), help: "Train a plain autoencoder (no input noise).")
    var noDenoising = false
    @Option(name: .customLong("val-size"), help: "Images held out from the end of the train file for validation.")
    var valSize = 5000
    @Option(help: "Seed for initialisation, shuffling and noise.")
    var seed: UInt64 = 0
    @Option(help: "Virtual shards of the training set (at least the number of ranks).")
    var shards = 24
    @Option(help: "BatchNorm statistics: sync (global batch, all ranks identical) or local (each rank's own batch).")
    var bn: BatchNormStatistics = .sync
    @Option(help: ArgumentHelp("Compute threads per rank: they share out each batch's shard slices (keep ranks x threads <= cores). Default: this rank's share of the processors.", valueName: "n"))
    var threads: Int?
    @Option(name: .customLong("max-steps"), help: "Stop after this many global steps.")
    var maxSteps: Int?
    @Option(name: .customLong("limit-train"), help: "Use at most this many training images.")
    var limitTrain: Int?
    @Option(name: .customLong("log-every"), help: "Print the training loss every N steps (0: never).")
    var logEvery = 50
    @Flag(inversion: .prefixedNo, help: "Overlap the gradient all-reduce with backward (buckets).")
    var overlap = true
    @Option(name: .customLong("collective-timeout"), help: "Seconds a collective may wait before the job is aborted.")
    var collectiveTimeout: Double = 300
    @Option(name: .customLong("consistency-every"), help: "Compare parameter checksums across ranks every N steps.")
    var consistencyEvery = 100
    @Option(name: .customLong("validation-interval"), help: "Validate at epoch 1 and every N epochs.")
    var validationInterval = 1
    @Option(name: .customLong("early-stop-patience"), help: "Stop after this many validations without improvement.")
    var earlyStopPatience = 5
    @Option(name: .customLong("early-stop-delta"), help: "Minimum decrease of the validation loss that counts as an improvement.")
    var earlyStopDelta = 0.0
    @Option(name: .customLong("checkpoint-every"), help: "Also write checkpoints/last.safetensors every N steps (0: at validations only).")
    var checkpointEvery = 0
    @Option(help: "Resume from a training state: a last.safetensors path, or 'auto' for <out-dir>/checkpoints/last.safetensors.")
    var resume: String?
    @Flag(name: .customLong("allow-config-change"),
          help: "With --resume: continue even though a setting that shapes the trajectory (seed, lr, noise, data, batch, shards, bn) differs from the saved run's.")
    var allowConfigChange = false
    @Option(name: .customLong("run-name"), help: "Name of the run (part of the default --out-dir).")
    var runName = "dae"
    @Option(name: .customLong("out-dir"), help: "Where rank 0 writes config, metrics, checkpoints and pictures (default runs/<UTC time>-<run name>).")
    var outDir: String?
    @Option(help: "A JSON file of flag values (flag names, or a run's config.json); flags on the command line override it.")
    var config: String?
    @Option(name: .customLong("synthetic-size"), help: "Images in the synthetic train file (--dataset synthetic).")
    var syntheticSize = 12_000

    func validate() throws {
        func positive(_ value: Int, _ flag: String) throws { if value < 1 { throw ValidationError("\(flag) must be at least 1 (got \(value)).") } }
        try positive(epochs, "--epochs"); try positive(batchSize, "--batch-size"); try positive(latentDim, "--latent-dim")
        try positive(valSize, "--val-size"); try positive(shards, "--shards")
        if let threads { try positive(threads, "--threads") }
        try positive(syntheticSize, "--synthetic-size")
        if let maxSteps { try positive(maxSteps, "--max-steps") }
        if let limitTrain { try positive(limitTrain, "--limit-train") }
        guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be a positive number (got \(lr)).") }
        guard noiseFactor >= 0, noiseFactor.isFinite else { throw ValidationError("--noise-factor must be 0 or more (got \(noiseFactor)).") }
        guard logEvery >= 0, consistencyEvery >= 0 else { throw ValidationError("--log-every and --consistency-every must be 0 or more.") }
        guard collectiveTimeout > 0 else { throw ValidationError("--collective-timeout must be positive.") }
        try positive(validationInterval, "--validation-interval"); try positive(earlyStopPatience, "--early-stop-patience")
        guard earlyStopDelta >= 0 else { throw ValidationError("--early-stop-delta must be 0 or more (got \(earlyStopDelta)).") }
        guard checkpointEvery >= 0 else { throw ValidationError("--checkpoint-every must be 0 or more.") }
        guard batchSize >= shards else {
            throw ValidationError("--batch-size (\(batchSize)) must be at least --shards (\(shards)): every shard gives a sample to every step. Raise the batch or lower --shards.")
        }
        if resume == "auto" && outDir == nil {
            throw ValidationError("--resume auto needs --out-dir: the folder of the run to continue.")
        }
        guard !runName.isEmpty, !runName.contains("/") else { throw ValidationError("--run-name must be a non-empty name without '/'.") }
    }

    func run() throws {
        let communicator = try Communicators.make(timeout: collectiveTimeout)
        let rank = communicator.rank
        let threads = self.threads ?? ComputeThreads.automatic(ranksOnNode: Communicators.ranksOnNode(communicator), limit: shards)
        if let warning = ComputeThreads.affinityWarning(threads: threads, rank: rank) {
            FileHandle.standardError.write(Data((warning + "\n").utf8))
        }
        do {
            let outDir = self.outDir ?? Train.defaultOutDir(runName: runName)
            let resumePath = resume.map { $0 == "auto" ? (outDir as NSString).appendingPathComponent("checkpoints/last.safetensors") : $0 }
            // Before any data is read or downloaded; rank 0 reads the checkpoint for all ranks.
            if rank == 0, let resumePath, !FileManager.default.isReadableFile(atPath: resumePath) {
                throw TrainingError.badCheckpoint(path: resumePath, reason: "no such file (rank 0 could not read it)")
            }
            var config = TrainingConfig(dataset: try resolveDataset(communicator))
            config.latentDim = latentDim
            config.globalBatch = batchSize
            config.shards = shards
            config.epochs = epochs
            config.maxSteps = maxSteps
            config.learningRate = lr
            config.noiseFactor = noDenoising ? 0 : noiseFactor
            config.validationSize = valSize
            config.limitTrain = limitTrain
            config.seed = seed
            config.batchNorm = bn
            config.overlap = overlap
            config.threads = threads
            config.logEvery = logEvery
            config.consistencyEvery = consistencyEvery
            config.outDir = outDir
            config.validationInterval = validationInterval
            config.earlyStopPatience = earlyStopPatience
            config.earlyStopDelta = earlyStopDelta
            config.checkpointEvery = checkpointEvery

            let trainer = try Trainer(config: config, communicator: communicator)
            if rank == 0 {
                print("dae-dist: \(communicator.size) rank(s), \(trainer.splits.trainCount) training images in \(shards) shards, "
                      + "global batch \(batchSize) (\(trainer.localBatch) on rank 0), \(trainer.plan.stepsPerEpoch) steps per epoch, "
                      + "\(threads) compute thread(s) per rank")
                print("dae-dist: \(CPU.description); GEMM: \(BLAS.library.description), \(BLAS.library.choiceDescription); "
                      + "C kernels: \(KernelBuild.name)")
                if let warning = BLAS.library.narrowerThanCPUWarning { FileHandle.standardError.write(Data(("dae-dist: " + warning + "\n").utf8)) }
            }
            if let path = resumePath {
                try trainer.resume(path: path, allowConfigChange: allowConfigChange)
                if rank == 0 {
                    print("dae-dist: resuming from \(path) at epoch \(trainer.position.epoch + 1), step \(trainer.globalStep)")
                }
            }
            let reporter = rank == 0 ? try RunReporter(config: config, outDir: config.outDir!, worldSize: communicator.size,
                                                          progressBar: isatty(1) != 0 && !MPICommunicator.launchedByMPI) : nil
            if let reporter { print("dae-dist: writing to \(reporter.outDir)") }
            StopSignal.install()
            let outcome = try trainer.run(reporter: reporter) { log in
                reporter?.say(String(format: "step %d epoch %d loss %.9g images/s %.1f comm_wait_ms %.2f",
                                     log.step, log.epoch + 1, log.loss, log.imagesPerSecond, 1000 * log.communicationSeconds))
            }
            if case .interrupted(let step) = outcome {
                if rank == 0 {
                    reporter?.say("dae-dist: stopped by \(StopSignal.name) after step \(step); the training state is in \(reporter!.lastPath). "
                                  + "Resume with: dae-dist train --out-dir \(config.outDir!) --resume auto (and the same flags)")
                }
                reporter?.lock.release()  // a clean stop: the state is saved
                Communicators.finish(communicator)
                throw ExitCode(130)
            }
            if rank == 0 && communicator.size > 1 {
                print("ranks agree: parameters bit-identical on all \(communicator.size) ranks (checksum \(String(RankConsistency.checksum(trainer.model), radix: 16)))")
            }
        } catch let exit as ExitCode {
            throw exit  // already explained to the user
        } catch {
            FileHandle.standardError.write(Data("dae-dist: rank \(rank): \(error)\n".utf8))
            if communicator.size > 1 { communicator.abort(code: 1) }
            throw ExitCode(1)
        }
        Communicators.finish(communicator)
    }

    /// `runs/<UTC time>-<run name>`.
    static func defaultOutDir(runName: String) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.locale = Locale(identifier: "en_US_POSIX")
        return "runs/\(formatter.string(from: Date()))-\(runName)"
    }

    /// MNIST from --data-dir (rank 0 downloads it first when allowed and missing), or synthetic digits.
    private func resolveDataset(_ communicator: Communicator) throws -> DatasetSource {
        switch dataset {
        case .synthetic:
            return .synthetic(seed: seed, trainCount: syntheticSize, testCount: max(100, syntheticSize / 6))
        case .mnist:
            var failure = [UInt8](repeating: 0, count: 1)
            if communicator.rank == 0 && !MNISTFiles.allPresent(dataDir: dataDir) && download {
                do { try MNISTDownloader().download(into: dataDir) { print("dae-dist: \($0)") } } catch {
                    FileHandle.standardError.write(Data("dae-dist: \(error)\n".utf8))
                    failure[0] = 1
                }
            }
            try failure.withUnsafeMutableBytes { try communicator.broadcast($0, root: 0) }
            if failure[0] != 0 { throw ExitCode(1) }
            return .mnist(dataDir: dataDir)
        }
    }
}

extension BatchNormStatistics: ExpressibleByArgument {}
