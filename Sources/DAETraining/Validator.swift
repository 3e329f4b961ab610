import DAECore
import DAEData
import Foundation

/// The images a run measures its model on: this rank's share of the validation hold-out (every
/// rank validates its share, so validation takes 1/N of the time and no rank waits long), and
/// rank 0's probe set (`--probe-every`) and test set (pictures and the summary's test error).
final class Validator {
    let splits: DataSplits
    let communicator: Communicator
    let config: TrainingConfig
    /// This rank's share of the validation hold-out (`validationShare` of it).
    let validationSet: Digits
    let validationShare: Range<Int>

    init(splits: DataSplits, config: TrainingConfig, communicator: Communicator) throws {
        self.splits = splits
        self.config = config
        self.communicator = communicator
        validationShare = Validator.share(of: splits.validationCount, rank: communicator.rank, worldSize: communicator.size)
        validationSet = try splits.loadValidation(part: validationShare)
    }

    /// Rank 0's images for `--probe-every`: the first 2,000 training images (the kNN's
    /// references) and the first 1,000 validation images (its queries): the same on any world size.
    lazy var probeSet: (references: Digits, queries: Digits)? = {
        guard communicator.rank == 0, config.probeEvery > 0 else { return nil }
        return try? (splits.loadTraining(ranges: [0..<min(2_000, splits.trainCount)]),
                     splits.loadValidation(part: 0..<min(1_000, splits.validationCount)))
    }()

    /// The test digits rank 0 draws its pictures from and reports the final test error on;
    /// without them (no t10k files) the run goes on, saying so once, without those outputs.
    lazy var testSet: Digits? = {
        guard communicator.rank == 0 else { return nil }
        do { return try splits.loadTest() } catch {
            print("dae-dist: no test set, so no sample pictures or test error in summary.json: \(error)")
            return nil
        }
    }()

    /// Mean squared error of `model` (eval mode) on the validation hold-out, inputs noised with
    /// the fixed validation noise. Call on every rank: each evaluates its share, and the images'
    /// errors are all-reduced (each image's from the one rank that has it, plus zeros) and added
    /// in image order, so the number is the one a single rank computes.
    func validationLoss(model: Autoencoder, noise: NoiseGenerator) throws -> Double {
        let local = Evaluation.sumsOfSquaredErrors(model: model, digits: validationSet, noise: noise, factor: config.noiseFactor,
                                                   noiseEpoch: NoiseGenerator.validationEpoch)
        guard communicator.size > 1 else { return Evaluation.meanSquaredError(ofSums: local) }
        let all = DoubleBuffer(count: splits.validationCount)
        all.fill(0)
        for (i, error) in local.enumerated() { all[validationShare.lowerBound + i] = error }
        try communicator.allReduceSum(all.buffer)
        return Evaluation.meanSquaredError(ofSums: all.array)
    }

    /// The latent code's 5-nearest-neighbour accuracy on `probeSet` (rank 0; no collectives).
    func probeAccuracy(model: Autoencoder) -> Double? {
        guard let (references, queries) = probeSet else { return nil }
        return Probe(dims: model.latentDim, train: Evaluation.latentCodes(model: model, digits: references), trainLabels: references.labels,
                     test: Evaluation.latentCodes(model: model, digits: queries), testLabels: queries.labels).knnAccuracy(k: 5)
    }

    /// 10 test digits, noised (0.3) and reconstructed, for the sample picture (rank 0).
    func samples(model: Autoencoder, noise: NoiseGenerator) -> (original: [Float], noisy: [Float], output: [Float])? {
        testSet.map { Evaluation.reconstructions(model: model, digits: $0, noise: noise, factor: 0.3, count: 10) }
    }

    /// The test set's error and PSNR at noise 0.1 and 0.3, for `summary.json` (rank 0).
    func testMetrics(model: Autoencoder, noise: NoiseGenerator) -> [(String, Any?)] {
        guard let test = testSet else { return [] }
        return [Float(0.1), 0.3].flatMap { factor -> [(String, Any?)] in
            let mse = Evaluation.meanSquaredError(model: model, digits: test, noise: noise, factor: factor, noiseEpoch: NoiseGenerator.testEpoch).mse
            return [("test_mse_noise_\(factor)", mse), ("test_psnr_noise_\(factor)", Evaluation.psnr(mse))]
        }
    }

    /// Rank `rank`'s share of `count` validation images: whole evaluation runs (see
    /// `Evaluation`), contiguous, as even as runs allow.
    static func share(of count: Int, rank: Int, worldSize: Int) -> Range<Int> {
        let run = Autoencoder.evaluationRun
        let runs = (count + run - 1) / run
        let first = runs * rank / worldSize, last = runs * (rank + 1) / worldSize
        return min(count, first * run)..<min(count, last * run)
    }
}
