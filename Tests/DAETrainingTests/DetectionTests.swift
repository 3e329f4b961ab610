import DAETraining
import XCTest

/// The anomaly-detection numbers against an example worked by hand, ties included.
final class DetectionTests: XCTestCase {
    // Anomalous scores 0.4, 0.8, 0.2; normal ones 0.1, 0.35, 0.4 (0.4 tied across the two).
    private let scores = [0.1, 0.4, 0.35, 0.8, 0.4, 0.2]
    private let anomalous = [false, true, false, true, false, true]

    /// Of the 9 (anomalous, normal) pairs, the anomalous one scores higher in 6 and ties in 1
    /// (0.4 against 0.4): AUC = (6 + 0.5) / 9.
    func testROCAUCCountsTiesAsHalf() throws {
        XCTAssertEqual(try XCTUnwrap(Detection.rocAUC(scores: scores, anomalous: anomalous)), 6.5 / 9, accuracy: 1e-15)
        XCTAssertEqual(Detection.rocAUC(scores: [1, 2, 3], anomalous: [false, true, true]), 1)
        XCTAssertEqual(Detection.rocAUC(scores: [3, 3, 3], anomalous: [false, true, true]), 0.5)
        XCTAssertNil(Detection.rocAUC(scores: [1, 2], anomalous: [true, true]), "no normal case")
    }

    /// By descending score: 0.8 (P 1, R 1/3), the tied 0.4s together (P 2/3, R 2/3), 0.35
    /// (no recall gained), 0.2 (P 3/5, R 1): AP = 1/3 + 1/3 * 2/3 + 1/3 * 3/5 = 34/45.
    func testAveragePrecisionTakesTiedScoresTogether() throws {
        XCTAssertEqual(try XCTUnwrap(Detection.averagePrecision(scores: scores, anomalous: anomalous)), 34.0 / 45, accuracy: 1e-15)
        XCTAssertEqual(Detection.averagePrecision(scores: [1, 2, 3], anomalous: [false, true, true]), 1)
        XCTAssertNil(Detection.averagePrecision(scores: [1, 2], anomalous: [false, false]))
    }

    func testThresholdPrecisionRecallAndPercentile() {
        let (precision, recall) = Detection.precisionRecall(scores: scores, anomalous: anomalous, threshold: 0.35)
        XCTAssertEqual(precision ?? -1, 2.0 / 3, accuracy: 1e-15)
        XCTAssertEqual(recall ?? -1, 2.0 / 3, accuracy: 1e-15)
        XCTAssertNil(Detection.precisionRecall(scores: scores, anomalous: anomalous, threshold: 1).precision, "nothing flagged")
        XCTAssertEqual(Detection.percentile([5, 1, 4, 2, 3], 95), 4.8, accuracy: 1e-12)  // numpy.percentile: 4.8
        XCTAssertEqual(Detection.percentile([7], 95), 7)
        XCTAssertEqual(Detection.percentile([1, 2, 3, 4], 50), 2.5)
    }
}
