import DAECore
import DAEData

/// How `dae-dist anomaly` turns an image and its noise-free reconstruction into a score
/// (higher: more anomalous).
public enum AnomalyScore: String, CaseIterable, Sendable {
    /// The mean squared error over the pixels: the plain reconstruction error. It grows with
    /// the ink an image has, so a normal digit with much ink (0, 8) can outscore an anomaly
    /// with little (1, 7).
    case mse
    /// The squared error over the image's own squared ink, `sum (x - y)^2 / sum x^2`: the
    /// error relative to how much there was to reconstruct.
    case ink
    /// `1 - r`, r the Pearson correlation of the image and its reconstruction: how far the
    /// reconstruction's shape is from the image's, whatever the scale.
    case correlation

    /// One score per image of `digits`, in order.
    public func scores(model: Autoencoder, digits: Digits) -> [Double] {
        var scores = [Double](repeating: 0, count: digits.count)
        let pixels = Architecture.imagePixels
        Evaluation.forEachChunk(model: model, digits: digits, noise: NoiseGenerator(seed: 0), factor: 0, noiseEpoch: NoiseGenerator.testEpoch) {
            start, n, clean, _ in
            for i in 0..<n { scores[start + i] = score(clean + i * pixels, model.output.pointer + i * pixels, count: pixels) }
        }
        return scores
    }

    /// The score of image `x` reconstructed as `y`, `count` pixels each.
    public func score(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int) -> Double {
        var (sx, sy, sxx, syy, sxy, error) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        for i in 0..<count {
            let (a, b) = (Double(x[i]), Double(y[i]))
            (sx, sy, sxx, syy, sxy) = (sx + a, sy + b, sxx + a * a, syy + b * b, sxy + a * b)
            error += (a - b) * (a - b)
        }
        switch self {
        case .mse: return error / Double(count)
        case .ink: return error / max(sxx, 1e-12)
        case .correlation:
            let n = Double(count)
            let covariance = sxy - sx * sy / n, varianceX = sxx - sx * sx / n, varianceY = syy - sy * sy / n
            guard varianceX > 0, varianceY > 0 else { return 1 }  // a blank image or reconstruction: no shape in common
            return 1 - covariance / (varianceX * varianceY).squareRoot()
        }
    }
}
