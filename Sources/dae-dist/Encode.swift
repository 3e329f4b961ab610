import ArgumentParser
import DAECore
import DAEData
import DAEPictures
import DAETraining
import Foundation

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
