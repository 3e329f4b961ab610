import ArgumentParser
import DAECore
import DAEData
import DAEPictures
import DAETraining
import Foundation

/// `dae-dist evaluate`: test-set error at several noise levels, and the spread of per-image
/// reconstruction errors (the numbers an anomaly detector built on the model would use).
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Test MSE and PSNR at noise 0, 0.1, 0.3, 0.5, and per-image error percentiles, as JSON.")

    @OptionGroup var model: ModelOptions
    @OptionGroup var data: TestSetOptions
    @Option(help: "Seed of the test noise.")
    var seed: UInt64 = 0
    @Option(help: "A corruption to test with: gaussian, masking or salt-pepper; repeat for several (default: gaussian).")
    var noise: [Corruption] = []
    @Option(help: "Also write the JSON to this file.")
    var output: String?

    func run() throws {
        let autoencoder = try model.load()
        let digits = try data.load()
        var levels: [Any?] = []
        var perImageClean: [Double] = []
        for corruption in noise.isEmpty ? [.gaussian] : noise {
            let generator = NoiseGenerator(seed: seed, corruption: corruption)
            for factor in [0, 0.1, 0.3, 0.5] where factor > 0 || perImageClean.isEmpty {
                let (mse, perImage) = Evaluation.meanSquaredError(model: autoencoder, digits: digits, noise: generator, factor: Float(factor),
                                                                  noiseEpoch: NoiseGenerator.testEpoch)
                guard mse.isFinite else {
                    throw ValidationFailure(message: "\(model.checkpoint): the model's reconstructions are not finite numbers (mean squared error \(mse)); its weights overflow on these images.")
                }
                if factor == 0 { perImageClean = perImage }
                levels.append(["noise": factor == 0 ? "none" : corruption.rawValue, "noise_factor": factor, "mse": mse,
                               "psnr": Evaluation.psnr(mse)] as KeyValuePairs<String, Any?>)
            }
        }
        let sorted = perImageClean.sorted()
        func percentile(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int((p / 100 * Double(sorted.count - 1)).rounded()))] }
        let mean = sorted.reduce(0, +) / Double(sorted.count)
        let std = (sorted.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(sorted.count)).squareRoot()
        let errors: KeyValuePairs<String, Any?> = ["noise_factor": 0.0, "mean": mean, "std": std, "p50": percentile(50), "p90": percentile(90),
                                                   "p95": percentile(95), "p99": percentile(99), "max": sorted.last]
        let report: KeyValuePairs<String, Any?> = ["checkpoint": model.checkpoint, "images": digits.count, "latent_dim": autoencoder.latentDim,
                                                   "test": levels, "reconstruction_error": errors]
        let json = JSON.encode(report)
        print(json)
        if let output { try AtomicFile.write(Data((json + "\n").utf8), to: output) }
    }
}
