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

    @OptionGroup var data: DataOptions
    @Flag(inversion: .prefixedNo, help: "Download MNIST into --data-dir when it is missing (rank 0 downloads, the others wait).")
    var download = true
    @OptionGroup var mirrors: MirrorOptions
    @OptionGroup var training: TrainingOptions
    @OptionGroup var collective: CollectiveOptions
    @Option(help: "Resume from a training state: a last.safetensors path, or 'auto' for <out-dir>/checkpoints/last.safetensors.")
    var resume: String?
    @Flag(name: .customLong("allow-config-change"),
          help: ArgumentHelp("With --resume: continue even though a setting that shapes the trajectory (\(RunSetting.trajectoryFlags)) differs from the saved run's."))
    var allowConfigChange = false
    @Flag(help: "Start a new run in an --out-dir that holds another run's checkpoints, replacing them (without it, such a folder is refused).")
    var overwrite = false
    @Option(name: .customLong("run-name"), help: "Name of the run (part of the default --out-dir).")
    var runName = "dae"
    @Option(name: .setting(RunSetting.outDir), help: .setting(RunSetting.outDir))
    var outDir: String?
    @Option(help: "A JSON file of flag values (flag names, or a run's config.json); flags on the command line override it.")
    var config: String?

    func validate() throws {
        if resume == "auto" && outDir == nil {
            throw ValidationError("--resume auto needs --out-dir: the folder of the run to continue.")
        }
        if let outDir, outDir.isEmpty { throw ValidationError("--out-dir must name a folder (got an empty path).") }
        if overwrite && resume != nil { throw ValidationError("--overwrite starts a new run; it cannot be combined with --resume.") }
        guard !runName.isEmpty, !runName.contains("/") else { throw ValidationError("--run-name must be a non-empty name without '/'.") }
    }

    func run() throws {
        let communicator = try Communicators.make(timeout: collective.collectiveTimeout)
        let rank = communicator.rank
        let threads = training.threads ?? ComputeThreads.automatic(ranksOnNode: communicator.node.ranks, limit: training.shards)
        if let warning = ComputeThreads.affinityWarning(threads: threads, rank: rank) {
            FileHandle.standardError.write(Data((warning + "\n").utf8))
        }
        do {
            let outDir = self.outDir ?? Train.defaultOutDir(runName: runName)
            let resumePath = resume.map { $0 == "auto" ? RunReporter.lastPath(in: outDir) : $0 }
            // Before any data is read or downloaded; rank 0 reads the checkpoint for all ranks.
            if rank == 0, let resumePath {
                do { try InputFile.check(resumePath) } catch { throw TrainingError.badCheckpoint(path: resumePath, reason: error.reason) }
            }
            let source = data.source(seed: training.seed)
            try DataPreparation.prepare(source, download: download, downloader: MNISTDownloader(mirrors: mirrors.list), communicator: communicator,
                                        describe: userMessage)
            let runConfig = training.config(dataset: source, threads: threads, outDir: outDir)
            try InputAgreement.check(runConfig, communicator: communicator)
            let trainer = try Trainer(config: runConfig, communicator: communicator)
            let config = trainer.config  // as lengthened for a small training set (--min-steps)
            if rank == 0 {
                print("dae-dist: \(communicator.size) rank(s), \(trainer.splits.trainCount) training images in \(config.shards) shards, "
                      + "global batch \(config.globalBatch) (\(trainer.localBatch) on rank 0), \(trainer.plan.stepsPerEpoch) steps per epoch, "
                      + "\(threads) compute thread(s) per rank")
                let steps = min(config.epochs * trainer.plan.stepsPerEpoch, config.maxSteps ?? .max)
                let requested = training.epochs ?? TrainingConfig.defaultEpochs
                if config.epochs != requested {
                    print("dae-dist: \(config.epochs) epochs (\(steps) steps), validating every \(config.validationInterval): "
                          + "\(requested) epochs of this training set would be \(requested * trainer.plan.stepsPerEpoch) optimiser steps, fewer than "
                          + "--min-steps \(config.minSteps); early stopping ends it sooner (--epochs N trains exactly N)")
                } else {
                    print("dae-dist: \(config.epochs) epochs, \(steps) steps")
                }
                print("dae-dist: \(CPU.description); GEMM: \(BLAS.library.description), \(BLAS.library.choiceDescription); "
                      + "precision \(config.precision.rawValue) (products: \(config.precision.kernel)); C kernels: \(KernelBuild.name)")
                if let warning = BLAS.library.narrowerThanCPUWarning { FileHandle.standardError.write(Data(("dae-dist: " + warning + "\n").utf8)) }
                if config.precision == .bf16, case let speedup = Precision.measuredBF16Speedup(), speedup < 1 {
                    FileHandle.standardError.write(Data(String(format: "dae-dist: warning: on this CPU bf16 products run at %.2fx the speed of fp32 ones (measured now); --precision fp32 is faster here\n", speedup).utf8))
                }
            }
            if let path = resumePath {
                try trainer.resume(path: path, allowConfigChange: allowConfigChange)
                if rank == 0 {
                    print("dae-dist: resuming from \(path) at epoch \(trainer.position.epoch + 1), step \(trainer.globalStep)")
                }
            }
            // Before the run directory appears: whoever sees metrics.jsonl may already signal.
            StopSignal.install()
            let observer: RunObserver = rank == 0 ? try RunReporter(config: config, outDir: outDir, worldSize: communicator.size,
                                                                    progressBar: isatty(1) != 0 && !Communicators.launchedByMPI,
                                                                    continuing: resumePath != nil || overwrite)
                                                  : QuietRun(outDir: outDir)
            observer.say("dae-dist: writing to \(outDir)")
            let outcome = try trainer.run(observer: observer) { log in
                observer.say(String(format: "step %d epoch %d loss %.9g images/s %.1f comm_ms %.2f (%.1f%%)", log.step, log.epoch + 1,
                                    log.loss, log.imagesPerSecond, 1000 * log.communicationSeconds, 100 * log.communicationShare))
            }
            if case .interrupted(let step) = outcome {
                observer.say("dae-dist: stopped by \(StopSignal.name) after step \(step); the training state is in \(observer.lastPath). "
                             + "Resume with: dae-dist train --out-dir \(outDir) --resume auto (and the same flags)")
                observer.release()  // a clean stop: the state is saved
                communicator.finish()
                throw ExitCode(130)
            }
            if rank == 0 && communicator.size > 1 {
                print("ranks agree: parameters bit-identical on all \(communicator.size) ranks (checksum \(String(RankConsistency.checksum(trainer.model), radix: 16)))")
            }
        } catch let exit as ExitCode {
            throw exit  // already explained to the user
        } catch is DataPreparation.Unavailable {
            throw ExitCode(1)  // each rank that lacks the data has said so
        } catch {
            FileHandle.standardError.write(Data("dae-dist: rank \(rank): \(userMessage(error))\n".utf8))
            if communicator.size > 1 { communicator.abort(code: 1) }
            throw ExitCode(1)
        }
        communicator.finish()
    }

    /// `runs/<UTC time>-<run name>`.
    static func defaultOutDir(runName: String) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.locale = Locale(identifier: "en_US_POSIX")
        return "runs/\(formatter.string(from: Date()))-\(runName)"
    }
}
