import DAECore
import DAETraining
import XCTest

/// A small training set's run lengthened to `--min-steps`, and the anomaly scores, on cases
/// worked by hand.
final class TrainingLengthAndScoreTests: XCTestCase {
    func testSmallTrainingSetsAreLengthenedInWholeEpochs() {
        var config = TrainingConfig(dataset: .synthetic(seed: 0, trainCount: 10, testCount: 10))
        config.minSteps = 1500
        // One digit of mnist-mini at batch 256: 3 steps an epoch, 60 in 20 epochs: 25 times as long.
        let one = config.lengthened(stepsPerEpoch: 3)
        XCTAssertEqual(one.epochs, 500)
        XCTAssertEqual(one.validationInterval, 25)
        XCTAssertGreaterThanOrEqual(one.epochs * 3, 1500)
        // 7 steps an epoch: 140 in 20 epochs, 11 times (1,540 steps), not 10 (1,400).
        XCTAssertEqual(config.lengthened(stepsPerEpoch: 7).epochs, 220)
        // Full MNIST (214 steps an epoch) is long enough as it is; all of mnist-mini (27) trains 3 times as long.
        XCTAssertEqual(config.lengthened(stepsPerEpoch: 214).epochs, 20)
        XCTAssertEqual(config.lengthened(stepsPerEpoch: 75).epochs, 20)
        XCTAssertEqual(config.lengthened(stepsPerEpoch: 27).epochs, 60)
        config.minSteps = 0
        XCTAssertEqual(config.lengthened(stepsPerEpoch: 3).epochs, 20)
    }

    func testScores() {
        let image: [Float] = [0, 1, 1, 0], half: [Float] = [0, 0.5, 0.5, 0], inverse: [Float] = [1, 0, 0, 1]
        func score(_ kind: AnomalyScore, _ x: [Float], _ y: [Float]) -> Double { kind.score(x, y, count: x.count) }
        XCTAssertEqual(score(.mse, image, half), 0.125)
        XCTAssertEqual(score(.ink, image, half), 0.25)  // 0.5 of squared error over 2 of squared ink
        XCTAssertEqual(score(.correlation, image, half), 0, accuracy: 1e-12, "the same shape at half the scale")
        XCTAssertEqual(score(.correlation, image, inverse), 2, accuracy: 1e-12)
        XCTAssertEqual(score(.correlation, image, [0, 0, 0, 0]), 1, "a blank reconstruction shares no shape")
        XCTAssertEqual(score(.mse, image, image), 0)
    }
}
