import DAETraining
import XCTest

/// The feature probes on cases small enough to know the answer.
final class ProbeTests: XCTestCase {
    /// Three well-separated clusters in 2-d (and a constant third feature, which carries
    /// nothing): both classifiers get every test point right.
    func testSeparableClustersAreClassifiedPerfectly() {
        let centres: [(Float, Float)] = [(0, 0), (10, 0), (0, 10)]
        var train: [Float] = [], trainLabels: [UInt8] = [], test: [Float] = [], testLabels: [UInt8] = []
        for (label, (x, y)) in centres.enumerated() {
            for i in 0..<20 {
                let dx = Float(i % 5) * 0.2 - 0.4, dy = Float(i / 5) * 0.2 - 0.3
                train += [x + dx, y + dy, 7]
                trainLabels.append(UInt8(label))
            }
            test += [x + 0.1, y - 0.1, 7]
            testLabels.append(UInt8(label))
        }
        let probe = Probe(dims: 3, train: train, trainLabels: trainLabels, test: test, testLabels: testLabels)
        XCTAssertEqual(probe.knnAccuracy(k: 5), 1)
        XCTAssertEqual(probe.knnAccuracy(k: 1), 1)
        XCTAssertEqual(probe.linearAccuracy(), 1)
    }

    /// One query between two labelled points, nearer the first: 1-NN says its label; with
    /// k = 2 the vote ties and the nearest neighbour decides; with k = 3 the majority does.
    func testTheVoteAndItsTieBreak() {
        let train: [Float] = [0, 3, 3.2], labels: [UInt8] = [0, 1, 1]
        let probe = { (query: Float, label: UInt8) in Probe(dims: 1, train: train, trainLabels: labels, test: [query], testLabels: [label]) }
        XCTAssertEqual(probe(1, 0).knnAccuracy(k: 1), 1)
        XCTAssertEqual(probe(1, 0).knnAccuracy(k: 2), 1, "tie: the nearest neighbour's label")
        XCTAssertEqual(probe(1, 1).knnAccuracy(k: 3), 1, "two of three neighbours say 1")
    }
}

/// Principal components of points whose spread is known.
final class PrincipalComponentsTests: XCTestCase {
    /// Points along (3, 4)/5 with a little spread across it: the first component is that
    /// direction, the second the one across, and projecting then rebuilding a point on the
    /// plane gives it back.
    func testComponentsFollowTheSpread() {
        var rows: [Float] = []
        for i in 0..<25 {
            let t = Float(i - 12) * 0.4
            for s: Float in [0.1, -0.1] { rows += [1 + 0.6 * t - 0.8 * s, 2 + 0.8 * t + 0.6 * s] }  // across: uncorrelated with along
        }
        let pca = PrincipalComponents(rows: rows, dims: 2)
        XCTAssertEqual(pca.components[0][0], 0.6, accuracy: 1e-6)
        XCTAssertEqual(pca.components[0][1], 0.8, accuracy: 1e-6)
        XCTAssertEqual(abs(pca.components[1][0]), 0.8, accuracy: 1e-6)
        XCTAssertEqual(abs(pca.components[1][1]), 0.6, accuracy: 1e-6)
        let point = pca.point(pca.project(rows[10..<12]))  // a point of the plane (here all of it)
        XCTAssertEqual(point[0], rows[10], accuracy: 1e-5)
        XCTAssertEqual(point[1], rows[11], accuracy: 1e-5)
    }
}
