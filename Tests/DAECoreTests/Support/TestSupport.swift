import DAECore
import Foundation
import XCTest

/// Paths the tests read: the package's own fixtures, and `../shared` beside the checkout.
enum TestPaths {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let shared = packageRoot.deletingLastPathComponent().appendingPathComponent("shared")

    static func fixture(_ name: String) throws -> URL {
        guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures") else {
            throw XCTSkip("fixture \(name) missing from the test bundle")
        }
        return url
    }

    /// A file under `../shared`, or a skip that says it is absent.
    static func sharedFile(_ relative: String) throws -> URL {
        let url = shared.appendingPathComponent(relative)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw XCTSkip("\(url.path) is absent (it lives in ../shared beside the checkout); skipping")
        }
        return url
    }
}

/// `max |a - b| / max |b|`: the error relative to the tensor's scale, as used throughout.
func relativeError<A: Collection, B: Collection>(_ a: A, _ b: B) -> Double
where A.Element: BinaryFloatingPoint, B.Element: BinaryFloatingPoint {
    precondition(a.count == b.count, "relativeError: \(a.count) vs \(b.count) elements")
    var maxDiff = 0.0, maxRef = 0.0
    for (x, y) in zip(a, b) {
        maxDiff = max(maxDiff, abs(Double(x) - Double(y)))
        maxRef = max(maxRef, abs(Double(y)))
    }
    return maxRef == 0 ? maxDiff : maxDiff / maxRef
}

func maxAbs<C: Collection>(_ values: C) -> Double where C.Element: BinaryFloatingPoint {
    values.reduce(0) { max($0, abs(Double($1))) }
}

/// Deterministic test values in [-scale, scale).
func randomValues(_ count: Int, seed: UInt64, scale: Double = 1) -> [Double] {
    var rng = SplitMix64(seed: seed)
    return (0..<count).map { _ in (2 * Double(rng.nextUnitFloat()) - 1) * scale }
}

/// A Float32 parameter with its gradient, for feeding layers in tests.
final class TestParameter {
    let value: FloatBuffer
    let gradientSum: DoubleBuffer
    /// The Float gradient buffer, which backward may use as scratch.
    private let floats: FloatBuffer
    init(_ values: [Double]) {
        value = FloatBuffer(values.map(Float.init))
        floats = FloatBuffer(count: values.count)
        gradientSum = DoubleBuffer(count: values.count)
    }
    var parameter: Parameter {
        Parameter(value: value.pointer, gradient: floats.pointer, gradientSum: gradientSum.pointer, count: value.count)
    }
    /// The Float gradient as `ParameterSet.finishGradients` makes it from the Double sum.
    var gradient: FloatBuffer {
        for i in 0..<floats.count { floats[i] = Float(gradientSum[i]) }
        return floats
    }
}

/// NCHW <-> CNHW for test data (the layers are channel-major, the references are NCHW).
func toChannelMajor(_ x: [Double], batch: Int, channels: Int, plane: Int) -> [Float] {
    var out = [Float](repeating: 0, count: x.count)
    for n in 0..<batch { for c in 0..<channels { for p in 0..<plane {
        out[(c * batch + n) * plane + p] = Float(x[(n * channels + c) * plane + p])
    } } }
    return out
}

func fromChannelMajor(_ x: UnsafePointer<Float>, batch: Int, channels: Int, plane: Int) -> [Double] {
    var out = [Double](repeating: 0, count: batch * channels * plane)
    for n in 0..<batch { for c in 0..<channels { for p in 0..<plane {
        out[(n * channels + c) * plane + p] = Double(x[(c * batch + n) * plane + p])
    } } }
    return out
}

/// A model on one random noisy batch (`slices` summing to its size), its training step with
/// Adam, and the clean images to run it against.
struct RandomBatchTraining {
    let step: TrainingStep
    let clean: FloatBuffer
    let slices: [Int]
    var batch: Int { slices.reduce(0, +) }

    init(latentDim: Int, slices: [Int], modelSeed: UInt64, dataSeed: UInt64) {
        let batch = slices.reduce(0, +)
        let model = Autoencoder(latentDim: latentDim, maxBatch: batch, seed: modelSeed)
        var random = SplitMix64(seed: dataSeed)
        clean = FloatBuffer(count: batch * Architecture.imagePixels)
        for i in 0..<clean.count {
            clean[i] = random.nextUnitFloat()
            model.input[i] = min(1, max(0, clean[i] + 0.1 * (random.nextUnitFloat() - 0.5)))
        }
        step = TrainingStep(model: model, optimizer: Adam(parameterCount: model.parameters.count))
        self.slices = slices
    }

    /// One training step; the global mean squared error before it.
    @discardableResult
    func run() throws -> Double {
        try step.run(target: clean.pointer, batch: batch, globalBatch: batch, slices: slices)
    }
}

/// Runs `body` with every build of the C kernels this CPU can run (AVX-512, AVX2, baseline).
func forEachKernelBuild(_ body: () -> Void) {
    defer { KernelBuild.force(nil) }
    for build in KernelBuild.runnable {
        KernelBuild.force(build)
        body()
    }
}
