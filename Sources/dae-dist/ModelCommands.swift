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

/// `dae-dist encode`: the latent code of every test image, with its label, as CSV, and a
/// scatter plot coloured by digit: of the code itself when it has two dimensions, of its
/// first two principal components when it has more.
struct Encode: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write each test image's latent vector and label as CSV, and a scatter plot coloured by digit.")

    @OptionGroup var model: ModelOptions
    @OptionGroup var data: TestSetOptions
    @Option(help: "The CSV file to write.")
    var output = "latents.csv"
    @Option(help: "The scatter plot (default: the CSV's name with .png).")
    var scatter: String?

    func run() throws {
        let autoencoder = try model.load()
        let digits = try data.load()
        let d = autoencoder.latentDim
        let codes = Evaluation.latentCodes(model: autoencoder, digits: digits)
        var csv = (0..<d).map { "z\($0)" }.joined(separator: ",") + ",label\n"
        for i in 0..<digits.count {
            csv += codes[(i * d)..<((i + 1) * d)].map { String(format: "%.6g", $0) }.joined(separator: ",") + ",\(digits.labels[i])\n"
        }
        try AtomicFile.write(Data(csv.utf8), to: output)
        print("wrote \(digits.count) latent vectors to \(output)")
        let plane = LatentPlane(codes: codes, dims: d)
        let points = (0..<digits.count).map { plane.coordinates(codes[($0 * d)..<(($0 + 1) * d)]) }.map { (Float($0.0), Float($0.1)) }
        let path = scatter ?? ((output as NSString).deletingPathExtension + ".png")
        try AtomicFile.write(Pictures.latentScatter(points: points, labels: digits.labels, axes: plane.axes), to: path)
        print("wrote the scatter plot (\(plane.axes.0), \(plane.axes.1)) to \(path)")
    }
}

/// `dae-dist denoise`: run images (an IDX file or a 28 x 28 PNG) through the model.
struct Denoise: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Denoise images from an IDX file or a 28x28 PNG; write a PNG grid or an IDX file.")

    @OptionGroup var model: ModelOptions
    @Option(help: "An IDX image file (raw or .gz) or a 28x28 PNG digit (white on black; see --invert).")
    var input: String
    @Option(help: "A .png (original / noisy / denoised rows) or an IDX file (.gz compresses).")
    var output: String
    @Option(name: .customLong("noise-factor"), help: "Noise added before denoising (0: denoise the images as they are).")
    var noiseFactor: Float = 0
    @Option(help: "How that noise corrupts: gaussian, masking or salt-pepper.")
    var noise: Corruption = .gaussian
    @Option(help: "At most this many images (PNG output shows at most 20).")
    var limit: Int?
    @Flag(help: "Invert a PNG input (for dark digits on a light background).")
    var invert = false
    @Option(help: "Seed of the added noise.")
    var seed: UInt64 = 0

    func validate() throws {
        guard noiseFactor >= 0 else { throw ValidationError("--noise-factor must be 0 or more.") }
        if noise.factorIsFraction && noiseFactor > 1 { throw ValidationError("--noise-factor is a fraction of the pixels for --noise \(noise.rawValue): at most 1.") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1.") }
    }

    func run() throws {
        let digits = try readInput()
        let autoencoder = try model.load()
        let count = min(digits.count, limit ?? digits.count, output.hasSuffix(".png") ? 20 : Int.max)
        let pictures = Evaluation.reconstructions(model: autoencoder, digits: digits, noise: NoiseGenerator(seed: seed, corruption: noise),
                                                    factor: noiseFactor, count: count)
        if output.hasSuffix(".png") {
            try AtomicFile.write(Pictures.samples(original: pictures.original, noisy: pictures.noisy, denoised: pictures.output, count: count), to: output)
        } else {
            var idx = Data()
            for word in [UInt32(2051), UInt32(count), 28, 28] { withUnsafeBytes(of: word.bigEndian) { idx.append(contentsOf: $0) } }
            idx.append(contentsOf: pictures.output.map { UInt8((max(0, min(1, $0)) * 255).rounded()) })
            try AtomicFile.write(output.hasSuffix(".gz") ? Gzip.compress(idx) : idx, to: output)
        }
        print("denoised \(count) image(s) into \(output)")
    }

    private func readInput() throws -> Digits {
        guard let data = FileManager.default.contents(atPath: input) else { throw ValidationFailure(message: "\(input): no such file.") }
        if data.starts(with: [0x89, 0x50, 0x4E, 0x47]) {
            let image: PNGDecoder.Image
            do { image = try PNGDecoder.decode(data) } catch { throw ValidationFailure(message: "\(input): \(error)") }
            guard image.width == 28 && image.height == 28 else {
                throw ValidationFailure(message: "\(input): the image is \(image.width) x \(image.height); the model takes 28 x 28 digits.")
            }
            return Digits(pixels: invert ? image.gray.map { 255 - $0 } : image.gray, labels: [0], sampleIndices: [0])
        }
        do {
            let records = try IDXReader.read(path: input, kind: .images)
            return Digits(pixels: records.bytes, labels: [UInt8](repeating: 0, count: records.fileCount), sampleIndices: Array(0..<records.fileCount))
        } catch let error as DataError {
            throw ValidationFailure(error)
        }
    }
}

/// `dae-dist init`: the untrained model a seed gives (PyTorch's default initialisation), as a
/// state_dict checkpoint: to start PyTorch from exactly the weights `train --seed S` starts from.
struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write the initial model of --seed (as train starts it) as a state_dict checkpoint.")

    @OptionGroup var latent: LatentOptions
    @Option(help: "Seed of the initialisation (as dae-dist train --seed).")
    var seed: UInt64 = 0
    @Option(help: "The safetensors file to write.")
    var output: String

    func run() throws {
        let latentDim = latent.latentDim
        let model = Autoencoder(latentDim: latentDim, maxBatch: 1, seed: seed)
        try ModelCheckpoint.save(model, to: output, metadata: ["seed": String(seed), "latent_dim": String(latentDim)])
        print("wrote the initial model of seed \(seed) to \(output)")
    }
}
