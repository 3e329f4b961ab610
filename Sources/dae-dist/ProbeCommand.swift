import ArgumentParser
import DAECore
import DAEData
import DAETraining
import Foundation

/// `dae-dist probe`: how useful the latent code is for classifying digits, against raw
/// pixels as the baseline: k-nearest neighbours and a logistic regression, each fitted on
/// the training images' features and scored on the test images'.
struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe", abstract: "Accuracy of kNN and logistic regression on the latent code (and on raw pixels), as JSON.")

    @OptionGroup var model: ModelOptions
    @OptionGroup var data: TestSetOptions
    @Option(help: "Neighbours of the kNN vote.")
    var k = 5
    @Option(name: .customLong("val-size"), help: "Images held out of the train file, left out of the probe's training set (default: the checkpoint's, else 5000).")
    var valSize: Int?
    @Option(name: .customLong("limit-train"), help: "Fit on at most this many training images.")
    var limitTrain: Int?
    @Option(help: "Also write the JSON to this file.")
    var output: String?

    func validate() throws {
        guard k >= 1 else { throw ValidationError("--k must be at least 1 (got \(k)).") }
        if let valSize, valSize < 1 { throw ValidationError("--val-size must be at least 1 (got \(valSize)).") }
        if let limitTrain, limitTrain < 1 { throw ValidationError("--limit-train must be at least 1 (got \(limitTrain)).") }
    }

    func run() throws {
        let autoencoder = try model.load()
        let test = try data.load()
        let training: Digits
        do {
            let splits = try model.splits(of: data.data, valSize: valSize, limitTrain: limitTrain)
            training = try splits.loadTraining(ranges: [0..<splits.trainCount])
        } catch let error as DataError {
            throw ValidationFailure(error)
        }
        let latent = Probe(dims: autoencoder.latentDim, train: Evaluation.latentCodes(model: autoencoder, digits: training), trainLabels: training.labels,
                           test: Evaluation.latentCodes(model: autoencoder, digits: test), testLabels: test.labels)
        let pixels = Probe(dims: Architecture.imagePixels, train: training.pixels.map { Float($0) * (1 / 255) }, trainLabels: training.labels,
                           test: test.pixels.map { Float($0) * (1 / 255) }, testLabels: test.labels)
        let report: KeyValuePairs<String, Any?> = [
            "checkpoint": model.checkpoint, "latent_dim": autoencoder.latentDim, "train_images": training.count, "test_images": test.count,
            "k": k, "knn_accuracy": latent.knnAccuracy(k: k), "linear_accuracy": latent.linearAccuracy(),
            "pixels": ["knn_accuracy": pixels.knnAccuracy(k: k), "linear_accuracy": pixels.linearAccuracy()] as KeyValuePairs<String, Any?>,
        ]
        let json = JSON.encode(report)
        print(json)
        if let output { try AtomicFile.write(Data((json + "\n").utf8), to: output) }
    }
}
