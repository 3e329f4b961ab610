import ArgumentParser
import DAECore
import DAEPictures
import DAETraining
import Foundation

/// Two coordinates for a latent code: the code itself for a 2-d latent (`Z0`, `Z1`), its
/// first two principal components over a set of codes for a wider one (`PC1`, `PC2`), the code
/// against zero for a 1-d one.
struct LatentPlane {
    let dims: Int
    let components: PrincipalComponents?

    init(codes: [Float], dims: Int) {
        self.dims = dims
        components = dims > 2 ? PrincipalComponents(rows: codes, dims: dims) : nil
    }

    var axes: (String, String) { components == nil ? ("Z0", dims > 1 ? "Z1" : "0") : ("PC1", "PC2") }

    func coordinates(_ code: ArraySlice<Float>) -> (Double, Double) {
        if let components { let c = components.project(code); return (c[0], c.count > 1 ? c[1] : 0) }
        let z = Array(code)
        return (Double(z[0]), dims > 1 ? Double(z[1]) : 0)
    }

    /// The latent code at plane coordinates (a, b): the rest of a wider code at its mean.
    func code(_ a: Double, _ b: Double) -> [Float] {
        if let components { return components.point([a, b]) }
        return dims > 1 ? [Float(a), Float(b)] : [Float(a)]
    }
}

/// `dae-dist manifold`: what the decoder has learned, as a picture: a regular grid over the
/// latent plane (see `LatentPlane`), from the 2nd to the 98th percentile of the test codes along
/// each axis, each point decoded into a digit.
struct Manifold: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Decode a regular grid over the 2-d latent (or its first two principal components) into a picture.")

    @OptionGroup var model: ModelOptions
    @Option(help: "Points per side of the grid.")
    var size = 15
    @Option(help: "The PNG to write.")
    var output = "manifold.png"
    @OptionGroup var data: TestSetOptions

    func validate() throws {
        guard (2...30).contains(size) else { throw ValidationError("--size must be from 2 to 30 (got \(size)).") }
    }

    func run() throws {
        let autoencoder = try model.load()
        let digits = try data.load()
        let d = autoencoder.latentDim
        let codes = Evaluation.latentCodes(model: autoencoder, digits: digits)
        let plane = LatentPlane(codes: codes, dims: d)
        let points = (0..<digits.count).map { plane.coordinates(codes[($0 * d)..<(($0 + 1) * d)]) }
        func range(_ values: [Double]) -> (Double, Double) { (Detection.percentile(values, 2), Detection.percentile(values, 98)) }
        let (x, y) = (range(points.map(\.0)), range(points.map(\.1)))
        // Row r from the top is the largest b, as on a plot.
        let grid = (0..<size).flatMap { r in (0..<size).map { c in
            plane.code(x.0 + (x.1 - x.0) * Double(c) / Double(size - 1), y.1 - (y.1 - y.0) * Double(r) / Double(size - 1))
        } }
        var rows: [[Float]] = []  // one decode per row of the grid
        for (i, code) in grid.enumerated() {
            autoencoder.latent.pointer.advanced(by: (i % size) * d).update(from: code, count: d)
            guard i % size == size - 1 else { continue }
            autoencoder.decode(batch: size)
            rows.append(Array(UnsafeBufferPointer(start: autoencoder.output.pointer, count: size * Architecture.imagePixels)))
        }
        try AtomicFile.write(Pictures.grid(rows: rows, count: size, scale: 2), to: output)
        print("wrote a \(size) x \(size) grid over (\(plane.axes.0), \(plane.axes.1)) to \(output)")
    }
}
