import ArgumentParser
import DAECore
import DAEData
import DAEPictures
import DAETraining
import Foundation

/// Options shared by the commands that use a trained model.
struct ModelOptions: ParsableArguments {
    @Option(help: "A checkpoint written by dae-dist train (best.safetensors or last.safetensors).")
    var checkpoint: String
    @Option(help: ArgumentHelp("Compute threads. Default: the processors this process may run on.", valueName: "n"))
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1 (got \(threads)).") }
    }

    func load(maxBatch: Int = 256) throws -> Autoencoder {
        // Evaluation runs 32 images per unit of work: a batch of 256 keeps at most 8 threads busy.
        ComputeThreads.set(threads ?? ComputeThreads.automatic(ranksOnNode: 1, limit: 8))
        do { return try ModelCheckpoint.loadModel(path: checkpoint, maxBatch: maxBatch) } catch let error as SafeTensorsError {
            throw ValidationFailure(error)
        }
    }

    /// The training and validation sets of the data a checkpoint was trained on: `--val-size`
    /// when given, else the checkpoint's recorded `val_size`, else train's default.
    func splits(of data: DataOptions, valSize: Int?, limitTrain: Int? = nil, digits: [Int]? = nil) throws -> DataSplits {
        do {
            return try DataSplits(source: data.source(seed: 0), validationSize: valSize ?? metadata()["val_size"].flatMap(Int.init) ?? 5000,
                                  limitTrain: limitTrain, digits: digits)
        } catch let error as DataError {
            throw ValidationFailure(error)
        }
    }

    /// The checkpoint's metadata (what `train` recorded with it: digits, val_size, ...).
    func metadata() throws -> [String: String] {
        do { return try SafeTensors.read(path: checkpoint).metadata } catch let error as SafeTensorsError {
            throw ValidationFailure(error)
        }
    }
}
