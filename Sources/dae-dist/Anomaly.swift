import ArgumentParser
import DAECore
import DAEData
import DAEPictures
import DAETraining
import Foundation

/// `dae-dist anomaly`: anomaly detection by reconstruction error. A model trained on the
/// normal digits (`train --digits`) reconstructs them better than the others; each test image
/// is scored by how far its noise-free reconstruction is from it (`--score`), and the scores
/// are judged against the labels ("anomalous" = not a normal digit).
struct Anomaly: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score test images by reconstruction error as anomalies: ROC AUC, average precision, a threshold; JSON, CSV, pictures.")

    @OptionGroup var model: ModelOptions
    @OptionGroup var data: TestSetOptions
    @Option(name: .customLong("normal-digits"), help: ArgumentHelp("The digits that are normal (default: the checkpoint's --digits).", valueName: "list"))
    var normalDigits: DigitsArgument?
    @Option(name: .customLong("val-size"), help: "Images held out of the train file for the threshold (default: the checkpoint's, else 5000).")
    var valSize: Int?
    @Option(name: .customLong("output-dir"), help: "Where anomaly.json, scores.csv and the pictures go.")
    var outputDir = "anomaly"
    @Option(help: "How an image is scored: correlation (1 - the correlation of the image and its reconstruction), ink (squared error over the image's squared ink) or mse (mean squared error).")
    var score: AnomalyScore = .correlation

    /// The threshold flags images whose error is above this percentile of the normal validation images'.
    static let thresholdPercentile = 95.0

    func validate() throws {
        if let valSize, valSize < 1 { throw ValidationError("--val-size must be at least 1 (got \(valSize)).") }
    }

    func run() throws {
        let autoencoder = try model.load()
        let metadata = try model.metadata()
        guard let normal = normalDigits?.list ?? metadata["digits"].flatMap(DigitList.parse) else {
            throw ValidationFailure(message: "\(model.checkpoint) was trained on all digits: say which are normal with --normal-digits (e.g. 0).")
        }
        let test = try data.load()
        let scores = score.scores(model: autoencoder, digits: test)
        let anomalous = test.labels.map { !normal.contains(Int($0)) }
        let validation: Digits
        do { validation = try model.splits(of: data.data, valSize: valSize, digits: normal).loadValidation() } catch let error as DataError {
            // Here the digits are --normal-digits (or the checkpoint's), not train's --digits.
            if case .invalidSetting(.digits, let reason) = error { throw ValidationFailure(message: "--normal-digits: \(reason)") }
            throw ValidationFailure(error)
        }
        let threshold = Detection.percentile(score.scores(model: autoencoder, digits: validation), Self.thresholdPercentile)
        let (precision, recall) = Detection.precisionRecall(scores: scores, anomalous: anomalous, threshold: threshold)

        var perDigit: [(String, Any?)] = []
        for digit in 0...9 where !normal.contains(digit) {
            let chosen = test.labels.indices.filter { test.labels[$0] == digit || !anomalous[$0] }
            let count = chosen.filter { anomalous[$0] }.count
            guard count > 0 else { continue }
            let (s, a) = (chosen.map { scores[$0] }, chosen.map { anomalous[$0] })
            perDigit.append((String(digit), ["images": count, "roc_auc": Detection.rocAUC(scores: s, anomalous: a),
                                             "average_precision": Detection.averagePrecision(scores: s, anomalous: a)] as KeyValuePairs<String, Any?>))
        }
        let report: KeyValuePairs<String, Any?> = [
            "checkpoint": model.checkpoint, "score": score.rawValue, "normal_digits": normal.map { $0 as Any? }, "images": test.count,
            "anomalous": anomalous.filter { $0 }.count,
            "roc_auc": Detection.rocAUC(scores: scores, anomalous: anomalous),
            "average_precision": Detection.averagePrecision(scores: scores, anomalous: anomalous),
            "per_digit": JSONObject(perDigit),
            "threshold": ["value": threshold, "validation_percentile": Self.thresholdPercentile, "validation_images": validation.count,
                          "precision": precision, "recall": recall] as KeyValuePairs<String, Any?>,
        ]
        try write(report: report, test: test, scores: scores, anomalous: anomalous, threshold: threshold, model: autoencoder)
    }

    private func write(report: KeyValuePairs<String, Any?>, test: Digits, scores: [Double], anomalous: [Bool], threshold: Double,
                       model: Autoencoder) throws {
        try Directories.create(outputDir)
        func path(_ name: String) -> String { (outputDir as NSString).appendingPathComponent(name) }
        let json = JSON.encode(report)
        print(json)
        try AtomicFile.write(Data((json + "\n").utf8), to: path("anomaly.json"))
        var csv = "index,label,score,anomalous\n"
        for i in scores.indices { csv += "\(i),\(test.labels[i]),\(String(format: "%.9g", scores[i])),\(anomalous[i] ? 1 : 0)\n" }
        try AtomicFile.write(Data(csv.utf8), to: path("scores.csv"))
        let normalScores = scores.indices.filter { !anomalous[$0] }.map { scores[$0] }
        let anomalousScores = scores.indices.filter { anomalous[$0] }.map { scores[$0] }
        try AtomicFile.write(Pictures.histogram(normalScores, anomalousScores, labels: ("NORMAL", "ANOMALOUS"), xLabel: "ANOMALY SCORE (\(score.rawValue.uppercased()))",
                                                marker: threshold), to: path("anomaly-histogram.png"))
        let top = Array(scores.indices.sorted { scores[$0] > scores[$1] }.prefix(20))
        let images = Evaluation.reconstructions(model: model, digits: test.subset(top), noise: NoiseGenerator(seed: 0), factor: 0, count: top.count)
        try AtomicFile.write(Pictures.grid(rows: [images.original, images.output], count: top.count), to: path("top-anomalies.png"))
        FileHandle.standardError.write(Data("wrote anomaly.json, scores.csv, anomaly-histogram.png and top-anomalies.png to \(outputDir)\n".utf8))
    }
}
