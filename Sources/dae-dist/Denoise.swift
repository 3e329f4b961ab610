import ArgumentParser
import DAECore
import DAEData
import DAEPictures
import DAETraining
import Foundation

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
            for word in [UInt32(2051), UInt32(count), UInt32(Architecture.imageSide), UInt32(Architecture.imageSide)] { withUnsafeBytes(of: word.bigEndian) { idx.append(contentsOf: $0) } }
            idx.append(contentsOf: pictures.output.map { UInt8((max(0, min(1, $0)) * 255).rounded()) })
            try AtomicFile.write(output.hasSuffix(".gz") ? Gzip.compress(idx) : idx, to: output)
        }
        print("denoised \(count) image(s) into \(output)")
    }

    private func readInput() throws -> Digits {
        // An IDX file of 1.3 million images at most; a PNG digit is far smaller.
        let data: Data
        do { data = try InputFile.read(input, limit: 1 << 30) } catch { throw ValidationFailure(message: "\(error).") }
        if data.starts(with: [0xFF, 0xD8, 0xFF]) {
            throw ValidationFailure(message: "\(input): is a JPEG image; give a \(Architecture.imageSide) x \(Architecture.imageSide) PNG digit or an IDX image file.")
        }
        if data.starts(with: [0, 0, 0x08, 0x01]) {
            throw ValidationFailure(message: "\(input): is an IDX label file (magic 2049); give the images file (train-images / t10k-images) or a PNG digit.")
        }
        if data.starts(with: [0x89, 0x50, 0x4E, 0x47]) {
            let image: PNGDecoder.Image
            do { image = try PNGDecoder.decode(data) } catch { throw ValidationFailure(message: "\(input): \(error)") }
            guard image.width == Architecture.imageSide && image.height == Architecture.imageSide else {
                throw ValidationFailure(message: "\(input): the image is \(image.width) x \(image.height); the model takes \(Architecture.imageSide) x \(Architecture.imageSide) digits.")
            }
            return Digits(pixels: invert ? image.gray.map { 255 - $0 } : image.gray, labels: [0], sampleIndices: [0])
        }
        do {
            let records = try IDXReader.read(path: input, kind: .images)
            guard records.fileCount > 0 else { throw ValidationFailure(message: "\(input): holds no images (an IDX file of 0 images); nothing to denoise.") }
            return Digits(pixels: records.bytes, labels: [UInt8](repeating: 0, count: records.fileCount), sampleIndices: Array(0..<records.fileCount))
        } catch let error as DataError {
            throw ValidationFailure(error)
        }
    }
}
