import DAECore
import Foundation

/// What a rank's training loop tells the world. Rank 0's is the `RunReporter`: console lines
/// and every file of the run. Every other rank's is a `QuietRun`, which does nothing. What is
/// only worth computing to be written (a training state, the pictures, the test error) is
/// passed unevaluated (`@autoclosure`), so ranks other than 0 never compute it.
public protocol RunObserver: AnyObject {
    /// The run's folder, and where its training state is saved (for messages).
    var outDir: String { get }
    var lastPath: String { get }

    /// A console line.
    func say(_ line: @autoclosure () -> String)
    /// A logged step (`--log-every`).
    func step(_ log: Trainer.StepLog) throws
    /// How far the epoch is (the progress bar).
    func progress(epoch: Int, step: Int, of steps: Int, imagesPerSecond: Double, secondsPerStep: Double)
    /// A validated epoch, with the kNN accuracy when `--probe-every` asks for it.
    func validation(epoch: Int, step: Int, trainLoss: Double, validationLoss: Double, message: String, imagesPerSecond: Double,
                    knnAccuracy: @autoclosure () -> Double?) throws
    /// Test digits, noised and reconstructed, for the epoch's sample picture (nil: no test set).
    func samplePicture(epoch: Int, step: Int, _ images: @autoclosure () -> (original: [Float], noisy: [Float], output: [Float])?) throws
    /// The model of an improved epoch, as `best.safetensors`.
    func saveBest(_ model: Autoencoder, metadata: @autoclosure () -> [String: String], epoch: Int, step: Int) throws
    /// A training state (`TrainingState.encode`), as `last.safetensors`; `logged` adds its metrics line.
    func saveTrainingState(_ data: @autoclosure () -> Data, epoch: Int, step: Int, logged: Bool) throws
    func earlyStop(epoch: Int, best: Double?) throws
    /// The run's end: `summary.json` from `fields`, the speed and the validated epochs
    /// (`history`, after those an earlier part of the run logged when it was `resumed`), and the loss curve.
    func summary(_ fields: @autoclosure () -> [(String, Any?)], imagesPerSecond: Double,
                 history: [(epoch: Int, train: Double, validation: Double)], resumed: Bool) throws
    /// The run ended (completed, early-stopped, or at `--max-steps`).
    func finish() throws
    /// The run stopped on a signal with its state saved: the folder is left to a resume.
    func release()
}

/// The observer of every rank but 0: it says and writes nothing.
public final class QuietRun: RunObserver {
    public let outDir: String
    public var lastPath: String { RunReporter.lastPath(in: outDir) }

    public init(outDir: String) { self.outDir = outDir }

    public func say(_ line: @autoclosure () -> String) {}
    public func step(_ log: Trainer.StepLog) throws {}
    public func progress(epoch: Int, step: Int, of steps: Int, imagesPerSecond: Double, secondsPerStep: Double) {}
    public func validation(epoch: Int, step: Int, trainLoss: Double, validationLoss: Double, message: String, imagesPerSecond: Double,
                           knnAccuracy: @autoclosure () -> Double?) throws {}
    public func samplePicture(epoch: Int, step: Int, _ images: @autoclosure () -> (original: [Float], noisy: [Float], output: [Float])?) throws {}
    public func saveBest(_ model: Autoencoder, metadata: @autoclosure () -> [String: String], epoch: Int, step: Int) throws {}
    public func saveTrainingState(_ data: @autoclosure () -> Data, epoch: Int, step: Int, logged: Bool) throws {}
    public func earlyStop(epoch: Int, best: Double?) throws {}
    public func summary(_ fields: @autoclosure () -> [(String, Any?)], imagesPerSecond: Double,
                        history: [(epoch: Int, train: Double, validation: Double)], resumed: Bool) throws {}
    public func finish() throws {}
    public func release() {}
}
