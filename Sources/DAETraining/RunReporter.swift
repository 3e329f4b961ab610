import DAECore
import DAEPictures
import Foundation

/// Everything rank 0 tells the user and writes, and the one writer of the run directory:
/// console lines, `config.json`, `metrics.jsonl` and its TensorBoard twin, the checkpoints,
/// the pictures and `summary.json`: rank 0's `RunObserver` (other ranks have a `QuietRun`).
public final class RunReporter: RunObserver {
    public let outDir: String
    public let worldSize: Int
    public let metrics: MetricsLog
    /// The step and validation scalars and the sample grids, for TensorBoard.
    public let tensorBoard: TensorBoardLog
    /// This run's hold on `outDir` (see `RunDirectoryLock`), released by `finish`.
    public let lock: RunDirectoryLock
    private let start = Clock.seconds()
    /// Whether to draw the progress bar (only for a person at a terminal: see `init`).
    private let interactive: Bool
    /// Whether the progress bar is on screen (it is cleared before any other line).
    private var barShown = false

    public var bestPath: String { RunReporter.bestPath(in: outDir) }
    public var lastPath: String { RunReporter.lastPath(in: outDir) }
    /// `<run folder>/checkpoints`, and in it the best model and the training state to resume from.
    public static func checkpointsDir(in outDir: String) -> String { (outDir as NSString).appendingPathComponent("checkpoints") }
    public static func bestPath(in outDir: String) -> String { (checkpointsDir(in: outDir) as NSString).appendingPathComponent("best.safetensors") }
    public static func lastPath(in outDir: String) -> String { (checkpointsDir(in: outDir) as NSString).appendingPathComponent("last.safetensors") }
    public var elapsed: Double { Clock.seconds() - start }

    public static let version = "0.1.0"

    /// `progressBar`: draw the in-place progress bar. Pass true only when stdout is a terminal a
    /// person watches; under mpirun a rank's stdout is a pseudo-terminal even when the job's
    /// output goes to a file, where the bar's carriage returns would garble the log.
    /// `continuing`: this run resumes the run in `outDir`, or was told to replace it
    /// (`--overwrite`); otherwise a folder that holds a run's checkpoints is refused.
    public init(config: TrainingConfig, outDir: String, worldSize: Int, progressBar: Bool, continuing: Bool) throws {
        self.outDir = outDir
        self.interactive = progressBar
        self.worldSize = worldSize
        for directory in [outDir, RunReporter.checkpointsDir(in: outDir), (outDir as NSString).appendingPathComponent("samples")] {
            do { try Directories.create(directory) } catch let error as DirectoryError {
                throw TrainingError.cannotWrite(path: directory, reason: "cannot create this folder (\(error.reason))")
            }
        }
        lock = try RunDirectoryLock(directory: outDir)
        let checkpoints = [RunReporter.lastPath(in: outDir), RunReporter.bestPath(in: outDir)].filter { FileManager.default.fileExists(atPath: $0) }
        if !continuing && !checkpoints.isEmpty {
            lock.release()
            throw TrainingError.runDirectoryHoldsARun(directory: outDir, files: checkpoints)
        }
        if let holder = lock.previousHolder {
            print("dae-dist: \(outDir) was last used by \(holder), which did not end cleanly; taking it over")
        }
        let versions: KeyValuePairs<String, Any?> = ["dae-dist": RunReporter.version, "swift": RunReporter.swiftVersion]
        let machine = RunReporter.machine
        let configJSON = "{" + ["\"config\":" + JSON.encode(config.fields), "\"world_size\":\(worldSize)", "\"versions\":" + JSON.encode(versions),
                                "\"machine\":" + JSON.encode(machine)]
            .joined(separator: ",") + "}\n"
        try AtomicFile.write(Data(configJSON.utf8), to: (outDir as NSString).appendingPathComponent("config.json"))
        metrics = try MetricsLog(path: (outDir as NSString).appendingPathComponent("metrics.jsonl"))
        tensorBoard = try TensorBoardLog(directory: outDir)
        try metrics.write(["event": "run", "time": ISO8601DateFormatter().string(from: Date()), "world_size": worldSize,
                       "config": config.fields, "versions": versions, "machine": machine])
    }

    /// What rank 0 computes on: the CPU, the GEMM library and kernel, the kernel the products
    /// run (`precision`), the C kernels' build.
    public static var machine: KeyValuePairs<String, Any?> {
        ["cpu": CPU.model, "cpu_family": CPU.family, "cpu_model": CPU.modelNumber, "cpu_isa": CPU.isa.name, "gemm": BLAS.library.fields,
         "precision": BLAS.precision.rawValue, "products": BLAS.precision.kernel, "kernels": KernelBuild.name]
    }

    static var swiftVersion: String {
        #if swift(>=6.3)
        return "6.3+"
        #else
        return "6.x"
        #endif
    }

    public func step(_ log: Trainer.StepLog) throws {
        try metrics.write(["event": "step", "step": log.step, "epoch": log.epoch + 1, "train_loss": log.loss,
                       "images_per_sec": log.imagesPerSecond, "comm_ms_per_step": 1000 * log.communicationSeconds, "elapsed_sec": elapsed])
        try tensorBoard.scalars([("train/loss", log.loss), ("train/images_per_sec", log.imagesPerSecond),
                                 ("train/comm_ms_per_step", 1000 * log.communicationSeconds), ("train/comm_share", log.communicationShare)],
                                step: log.step)
    }

    /// The progress bar while an epoch runs (only on a terminal).
    public func progress(epoch: Int, step: Int, of steps: Int, imagesPerSecond: Double, secondsPerStep: Double) {
        guard interactive else { return }
        let width = 30, done = Int(Double(width) * Double(step) / Double(steps))
        let bar = String(repeating: "#", count: done) + String(repeating: ".", count: width - done)
        let eta = Self.clock(secondsPerStep * Double(steps - step))
        print(String(format: "\rEpoch %3d [%@] %3d%% %7.0f img/s ETA %@ ", epoch + 1, bar, 100 * step / steps, imagesPerSecond, eta),
              terminator: "")
        fflush(nil)
        barShown = true
    }

    /// Prints a console line, first clearing the progress bar if it is shown.
    public func say(_ line: @autoclosure () -> String) {
        let line = line()
        if barShown {
            print("\r" + String(repeating: " ", count: 78), terminator: "\r")
            barShown = false
        }
        print(line)
        fflush(nil)
    }

    /// One validated epoch: console line, metrics line.
    /// `knnAccuracy` (`--probe-every`) is added to the metrics line when given.
    public func validation(epoch: Int, step: Int, trainLoss: Double, validationLoss: Double, message: String, imagesPerSecond: Double,
                           knnAccuracy: @autoclosure () -> Double?) throws {
        let knnAccuracy = knnAccuracy()
        let speed = Double(epoch + 1) / elapsed
        say(String(format: "[Epoch %3d] T_loss: %.5f, V_loss: %.5f, %@ | T_time: %@, T_speed: %.3f",
                   epoch + 1, trainLoss, validationLoss, message, Self.clock(elapsed), speed))
        var fields: [(String, Any?)] = [("event", "validation"), ("Epoch", epoch + 1), ("Training loss", trainLoss),
                                        ("Validation loss", validationLoss), ("Training speed (epochs/sec)", speed), ("step", step),
                                        ("images_per_sec", imagesPerSecond), ("elapsed_sec", elapsed), ("world_size", worldSize)]
        if let knnAccuracy { fields.append(("knn_accuracy", knnAccuracy)) }
        try metrics.write(JSONObject(fields))
        try tensorBoard.scalars([("epoch/train_loss", trainLoss), ("epoch/validation_loss", validationLoss)]
                                + (knnAccuracy.map { [("epoch/knn_accuracy", $0)] } ?? []), step: step)
    }

    /// `samples/epoch-NNN.png`: 10 test digits, original / noisy (0.3) / denoised; also
    /// TensorBoard's `samples` image at global step `step`.
    public func samplePicture(epoch: Int, step: Int, _ images: @autoclosure () -> (original: [Float], noisy: [Float], output: [Float])?) throws {
        guard let images = images() else { return }
        let count = images.original.count / Architecture.imagePixels
        guard count > 0 else { return }
        let path = (outDir as NSString).appendingPathComponent(String(format: "samples/epoch-%03d.png", epoch + 1))
        let png = Pictures.samples(original: images.original, noisy: images.noisy, denoised: images.output, count: count)
        try AtomicFile.write(png, to: path)
        try tensorBoard.image("samples", png: png, step: step)
    }

    /// `summary.json` (with the loss curve's points as `loss_history`) and `loss-curve.png`.
    public func summary(_ fields: @autoclosure () -> [(String, Any?)], imagesPerSecond: Double,
                        history: [(epoch: Int, train: Double, validation: Double)], resumed: Bool) throws {
        let fields = fields() + [("total_time_sec", elapsed), ("images_per_sec", imagesPerSecond)]
        let history = resumed ? loggedHistory(before: history) + history : history
        let points: [Any?] = history.map { point -> Any? in
            ["epoch": point.epoch, "train_loss": point.train, "validation_loss": point.validation] as KeyValuePairs<String, Any?>
        }
        let body = (fields + [("loss_history", points)]).map { "  \(JSONString.quote($0.0)): \(JSON.encode($0.1))" }.joined(separator: ",\n")
        try AtomicFile.write(Data("{\n\(body)\n}\n".utf8), to: (outDir as NSString).appendingPathComponent("summary.json"))
        if !history.isEmpty {
            let curve = Pictures.lossCurve(epochs: history.map(\.epoch), train: history.map(\.train), validation: history.map(\.validation))
            try AtomicFile.write(curve, to: (outDir as NSString).appendingPathComponent("loss-curve.png"))
        }
    }

    /// The validations metrics.jsonl holds for epochs before the first of `history`: what a
    /// resumed run's earlier part logged into this out dir (for an epoch logged twice, the
    /// later line).
    public func loggedHistory(before history: [(epoch: Int, train: Double, validation: Double)]) -> [(epoch: Int, train: Double, validation: Double)] {
        let first = history.first?.epoch ?? Int.max
        guard let text = try? String(contentsOfFile: metrics.path, encoding: .utf8) else { return [] }
        var byEpoch: [Int: (train: Double, validation: Double)] = [:]
        for line in text.split(separator: "\n") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  object["event"] as? String == "validation", let epoch = object["Epoch"] as? Int, epoch < first,
                  let train = object["Training loss"] as? Double, let validation = object["Validation loss"] as? Double else { continue }
            byEpoch[epoch] = (train, validation)
        }
        return byEpoch.keys.sorted().map { (epoch: $0, train: byEpoch[$0]!.train, validation: byEpoch[$0]!.validation) }
    }

    /// `checkpoints/best.safetensors`: the model's `state_dict`, for PyTorch and `evaluate`.
    public func saveBest(_ model: Autoencoder, metadata: @autoclosure () -> [String: String], epoch: Int, step: Int) throws {
        try ModelCheckpoint.save(model, to: bestPath, metadata: metadata())
        try checkpointSaved(kind: "best", path: bestPath, epoch: epoch, step: step)
    }

    /// `checkpoints/last.safetensors`: a training state (`TrainingState.encode`) to resume
    /// from; `logged` adds its line to `metrics.jsonl`.
    public func saveTrainingState(_ data: @autoclosure () -> Data, epoch: Int, step: Int, logged: Bool) throws {
        try AtomicFile.write(data(), to: lastPath)
        if logged { try checkpointSaved(kind: "last", path: lastPath, epoch: epoch, step: step) }
    }

    private func checkpointSaved(kind: String, path: String, epoch: Int, step: Int) throws {
        try metrics.write(["event": "checkpoint", "kind": kind, "path": path, "epoch": epoch + 1, "step": step, "elapsed_sec": elapsed])
    }

    public func earlyStop(epoch: Int, best: Double?) throws {
        say("Early stopping at epoch \(epoch + 1); best V_loss \(best.map { String(format: "%.5f", $0) } ?? "-")")
        try metrics.write(["event": "early_stop", "epoch": epoch + 1, "best_validation_loss": best, "elapsed_sec": elapsed])
    }

    public func finish() throws {
        say("Final training time: \(Self.clock(elapsed))")
        try metrics.write(["event": "end", "elapsed_sec": elapsed])
        lock.release()
    }

    public func release() { lock.release() }

    /// HH:MM:SS.
    public static func clock(_ seconds: Double) -> String {
        let s = max(0, Int(seconds.rounded()))
        return String(format: "%02d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
    }
}
