import DAECore
import Foundation

/// How good features are for a downstream task: the accuracy of simple classifiers trained
/// on them, deterministic and in-process. Features are rows of `dims` Floats, standardised
/// with the training rows' per-feature mean and standard deviation.
public struct Probe {
    public let dims: Int
    public let train: [Float], trainLabels: [UInt8]
    public let test: [Float], testLabels: [UInt8]

    public init(dims: Int, train: [Float], trainLabels: [UInt8], test: [Float], testLabels: [UInt8]) {
        precondition(dims > 0 && train.count == dims * trainLabels.count && test.count == dims * testLabels.count, "Probe: sizes")
        self.dims = dims
        self.trainLabels = trainLabels
        self.testLabels = testLabels
        (self.train, self.test) = Probe.standardized(train, test, dims: dims)
    }

    private static func standardized(_ train: [Float], _ test: [Float], dims: Int) -> ([Float], [Float]) {
        let rows = max(1, train.count / dims)
        var mean = [Double](repeating: 0, count: dims), variance = mean
        for r in 0..<rows { for j in 0..<dims { mean[j] += Double(train[r * dims + j]) } }
        for j in 0..<dims { mean[j] /= Double(rows) }
        for r in 0..<rows { for j in 0..<dims { let d = Double(train[r * dims + j]) - mean[j]; variance[j] += d * d } }
        let scale = variance.map { $0 > 0 ? 1 / ($0 / Double(rows)).squareRoot() : 0 }  // a constant feature carries nothing
        func apply(_ x: [Float]) -> [Float] { x.indices.map { Float((Double(x[$0]) - mean[$0 % dims]) * scale[$0 % dims]) } }
        return (apply(train), apply(test))
    }

    /// k-nearest-neighbour accuracy on the test rows (Euclidean; a tie in the vote goes to the
    /// tied label with the nearest neighbour). Distances come from one GEMM per block of rows.
    public func knnAccuracy(k: Int) -> Double {
        let (n, m) = (trainLabels.count, testLabels.count)
        guard n > 0, m > 0 else { return .nan }
        let k = min(k, n)
        var norms = [Float](repeating: 0, count: n)
        for r in 0..<n { for j in 0..<dims { norms[r] += train[r * dims + j] * train[r * dims + j] } }
        let block = 256
        var dots = [Float](repeating: 0, count: block * n)
        var correct = 0
        for start in stride(from: 0, to: m, by: block) {
            let rows = min(block, m - start)
            test.withUnsafeBufferPointer { t in train.withUnsafeBufferPointer { x in dots.withUnsafeMutableBufferPointer { d in
                BLAS.gemm(transposeA: false, transposeB: true, m: rows, n: n, k: dims, a: t.baseAddress! + start * dims, lda: dims,
                          b: x.baseAddress!, ldb: dims, c: d.baseAddress!, ldc: n)
            } } }
            for row in 0..<rows {
                // |t - x|^2 = |t|^2 + |x|^2 - 2 t.x; |t|^2 is the same for every x.
                var nearest: [(distance: Float, index: Int)] = []
                for i in 0..<n {
                    let distance = norms[i] - 2 * dots[row * n + i]
                    if nearest.count < k || distance < nearest[nearest.count - 1].distance {
                        let at = nearest.firstIndex { distance < $0.distance } ?? nearest.count
                        nearest.insert((distance, i), at: at)
                        if nearest.count > k { nearest.removeLast() }
                    }
                }
                var votes = [Int](repeating: 0, count: 256)
                for neighbour in nearest { votes[Int(trainLabels[neighbour.index])] += 1 }
                let top = votes.max() ?? 0
                let label = nearest.first { votes[Int(trainLabels[$0.index])] == top }.map { trainLabels[$0.index] }
                if label == testLabels[start + row] { correct += 1 }
            }
        }
        return Double(correct) / Double(m)
    }

    /// Accuracy on the test rows of a multinomial logistic regression fitted to the training
    /// rows: full-batch gradient descent on the mean cross-entropy plus `l2` times the squared
    /// weights, from zero weights, a fixed step and count: the same numbers every run.
    public func linearAccuracy(iterations: Int = 300, step: Float = 0.5, l2: Float = 1e-4) -> Double {
        let classes = Int((trainLabels.max() ?? 0)) + 1
        let n = trainLabels.count
        guard n > 0, !testLabels.isEmpty else { return .nan }
        var weights = [Float](repeating: 0, count: dims * classes), bias = [Float](repeating: 0, count: classes)
        var logits = [Float](repeating: 0, count: n * classes), gradient = weights
        for _ in 0..<iterations {
            scores(train, rows: n, weights: weights, bias: bias, classes: classes, into: &logits)
            // logits become softmax - onehot, divided by n: the gradient of the mean loss with respect to them.
            var biasGradient = [Float](repeating: 0, count: classes)
            for r in 0..<n {
                let row = r * classes
                let peak = (0..<classes).map { logits[row + $0] }.max() ?? 0
                var total: Float = 0
                for c in 0..<classes { logits[row + c] = expf(logits[row + c] - peak); total += logits[row + c] }
                for c in 0..<classes {
                    logits[row + c] = (logits[row + c] / total - (Int(trainLabels[r]) == c ? 1 : 0)) / Float(n)
                    biasGradient[c] += logits[row + c]
                }
            }
            train.withUnsafeBufferPointer { x in logits.withUnsafeBufferPointer { g in gradient.withUnsafeMutableBufferPointer { w in
                BLAS.gemm(transposeA: true, transposeB: false, m: dims, n: classes, k: n, a: x.baseAddress!, lda: dims,
                          b: g.baseAddress!, ldb: classes, c: w.baseAddress!, ldc: classes)
            } } }
            for i in weights.indices { weights[i] -= step * (gradient[i] + 2 * l2 * weights[i]) }
            for c in 0..<classes { bias[c] -= step * biasGradient[c] }
        }
        var testScores = [Float](repeating: 0, count: testLabels.count * classes)
        scores(test, rows: testLabels.count, weights: weights, bias: bias, classes: classes, into: &testScores)
        var correct = 0
        for r in testLabels.indices {
            let row = testScores[(r * classes)..<((r + 1) * classes)]
            if let best = row.indices.max(by: { row[$0] < row[$1] }), best - r * classes == Int(testLabels[r]) { correct += 1 }
        }
        return Double(correct) / Double(testLabels.count)
    }

    /// `out[rows x classes] = x W + b`.
    private func scores(_ x: [Float], rows: Int, weights: [Float], bias: [Float], classes: Int, into out: inout [Float]) {
        for r in 0..<rows { for c in 0..<classes { out[r * classes + c] = bias[c] } }
        x.withUnsafeBufferPointer { x in weights.withUnsafeBufferPointer { w in out.withUnsafeMutableBufferPointer { o in
            BLAS.gemm(transposeA: false, transposeB: false, m: rows, n: classes, k: dims, a: x.baseAddress!, lda: dims,
                      b: w.baseAddress!, ldb: classes, beta: 1, c: o.baseAddress!, ldc: classes)
        } } }
    }
}
