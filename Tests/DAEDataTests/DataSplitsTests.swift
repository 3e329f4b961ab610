import DAEData
import Foundation
import XCTest

final class DataSplitsTests: XCTestCase {
    private func sources() -> [DatasetSource] {
        var sources: [DatasetSource] = [.synthetic(seed: 1, trainCount: 1200, testCount: 100)]
        let mini = TestShared.path("data/mnist-mini")
        if FileManager.default.fileExists(atPath: mini) { sources.append(.mnist(dataDir: mini)) }
        return sources
    }

    /// Each rank holds about 1/N of the training images, and together the ranks hold each exactly once.
    func testRanksHoldDisjointShardsCoveringTheTrainingSet() throws {
        for source in sources() {
            let splits = try DataSplits(source: source, validationSize: 200)
            let all = try splits.loadTraining(ranges: [0..<splits.trainCount])
            for worldSize in [1, 2, 4] {
                let plan = try ShardPlan(trainCount: splits.trainCount, shards: 24, globalBatch: 96, worldSize: worldSize)
                var covered = 0
                for rank in 0..<worldSize {
                    let shards = try splits.loadShards(plan: plan, rank: rank, worldSize: worldSize)
                    XCTAssertEqual(Double(shards.digits.count), Double(splits.trainCount) / Double(worldSize), accuracy: Double(splits.trainCount) / 24)
                    for (row, sample) in shards.digits.sampleIndices.enumerated() {
                        XCTAssertEqual(shards.row(of: sample), row)
                        XCTAssertEqual(shards.digits.pixels[(row * 784)..<(row * 784 + 784)], all.pixels[(sample * 784)..<(sample * 784 + 784)])
                    }
                    covered += shards.digits.count
                }
                XCTAssertEqual(covered, splits.trainCount, "\(source) on \(worldSize) ranks")
            }
            let validation = try splits.loadValidation()
            XCTAssertEqual(validation.count, 200)
            XCTAssertEqual(validation.sampleIndices.first, splits.trainFileCount - 200)
            XCTAssertGreaterThan(try splits.loadTest().count, 0)
        }
    }

    func testValidationSizeMustLeaveTrainingData() throws {
        for source in sources() {
            XCTAssertThrowsError(try DataSplits(source: source, validationSize: 100_000)) { error in
                guard case .invalidSetting(.validationSize, _)? = error as? DataError else { return XCTFail("\(error)") }
            }
            XCTAssertThrowsError(try DataSplits(source: source, validationSize: 10, limitTrain: 0))
            XCTAssertEqual(try DataSplits(source: source, validationSize: 10, limitTrain: 50).trainCount, 50)
        }
    }
}
