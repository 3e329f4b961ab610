import CAllocationCounter
import DAEData
import XCTest

/// Virtual shards: the samples of a global step do not depend on the world size.
final class EpochOrderTests: XCTestCase {
    /// Every rank's samples for `step`, as one set.
    private func globalStep(_ plan: ShardPlan, worldSize: Int, epoch: Int, step: Int) -> [Int] {
        var all: [Int] = []
        for rank in 0..<worldSize {
            let order = EpochOrder(plan: plan, seed: 5, epoch: epoch, rank: rank, worldSize: worldSize)
            var buffer = [Int](repeating: -1, count: plan.globalBatch)
            let n = buffer.withUnsafeMutableBufferPointer { order.samples(step: step, into: $0.baseAddress!) }
            XCTAssertEqual(n, plan.localBatch(rank: rank, worldSize: worldSize))
            all += buffer.prefix(n)
        }
        return all.sorted()
    }

    func testGlobalStepsAreTheSameForOneToFourRanks() throws {
        // 24 shards do not divide the batch of 100: the first 4 shards give 5 samples a step, the rest 4.
        let plans = try (1...4).map { try ShardPlan(trainCount: 1003, shards: 24, globalBatch: 100, worldSize: $0) }
        XCTAssertEqual(plans[0].sliceSizes.prefix(5), [5, 5, 5, 5, 4])
        XCTAssertEqual(Set(plans.map(\.bounds)).count, 1, "shard bounds do not depend on the world size")
        let plan = plans[0]
        XCTAssertEqual(plan.stepsPerEpoch, 10)
        for epoch in 0..<2 {
            var seen: [Int] = []
            for step in 0..<plan.stepsPerEpoch {
                let reference = globalStep(plan, worldSize: 1, epoch: epoch, step: step)
                XCTAssertEqual(reference.count, 100)
                for worldSize in 2...4 {
                    XCTAssertEqual(globalStep(plans[worldSize - 1], worldSize: worldSize, epoch: epoch, step: step), reference,
                                   "epoch \(epoch) step \(step) on \(worldSize) ranks")
                }
                seen += reference
            }
            // Each sample at most once per epoch; what is left over is each shard's tail beyond
            // its last full slice: 3 samples of 1003 here, different ones each epoch.
            XCTAssertEqual(Set(seen).count, seen.count, "no sample twice in an epoch")
            XCTAssertEqual(seen.count, 1000)
            for shard in 0..<24 {
                let left = plan.range(of: shard).count - plan.stepsPerEpoch * plan.sliceSizes[shard]
                XCTAssertLessThan(left, plan.sliceSizes[shard], "shard \(shard) leaves less than one slice")
            }
        }
        XCTAssertNotEqual(globalStep(plan, worldSize: 1, epoch: 0, step: 0), globalStep(plan, worldSize: 1, epoch: 1, step: 0),
                          "each epoch reshuffles")
    }

    func testWhenShardsDivideEverythingEverySampleAppearsExactlyOnce() throws {
        let plan = try ShardPlan(trainCount: 960, shards: 24, globalBatch: 96, worldSize: 3)
        var seen: [Int] = []
        for step in 0..<plan.stepsPerEpoch { seen += globalStep(plan, worldSize: 3, epoch: 0, step: step) }
        XCTAssertEqual(seen.sorted(), Array(0..<960))
    }

    func testImpossibleSettingsAreRefusedNamingTheSetting() {
        let cases: [(Int, Int, Int, Int, DataSetting)] = [
            (1000, 2, 64, 4, .shards),     // fewer shards than ranks
            (1000, 0, 64, 1, .shards),
            (1000, 24, 16, 1, .globalBatch),  // batch smaller than the shard count
            (100, 4, 256, 1, .globalBatch),   // batch larger than the data
        ]
        for (count, shards, batch, world, setting) in cases {
            XCTAssertThrowsError(try ShardPlan(trainCount: count, shards: shards, globalBatch: batch, worldSize: world)) { error in
                guard case .invalidSetting(let named, _)? = error as? DataError else { return XCTFail("\(error)") }
                XCTAssertEqual(named, setting, "\(error)")
            }
        }
    }

    func testRankShardsArePartitioned() throws {
        let plan = try ShardPlan(trainCount: 5000, shards: 24, globalBatch: 256, worldSize: 4)
        let owned = (0..<4).map { plan.shardsOwned(rank: $0, worldSize: 4) }
        XCTAssertEqual(owned.flatMap { $0 }.sorted(), Array(0..<24))
        XCTAssertEqual((0..<4).reduce(0) { $0 + plan.localBatch(rank: $1, worldSize: 4) }, 256)
    }
}

final class NoiseTests: XCTestCase {
    func testNoiseDependsOnlyOnSeedEpochAndSample() {
        let a = NoiseGenerator(seed: 3), b = NoiseGenerator(seed: 3), c = NoiseGenerator(seed: 4)
        var x = [Float](repeating: 0, count: 784), y = x, z = x, w = x
        a.normals(epoch: 2, sample: 77, count: 784, into: &x)
        b.normals(epoch: 2, sample: 77, count: 784, into: &y)
        c.normals(epoch: 2, sample: 77, count: 784, into: &z)
        a.normals(epoch: 3, sample: 77, count: 784, into: &w)
        XCTAssertEqual(x, y)
        XCTAssertNotEqual(x, z)
        XCTAssertNotEqual(x, w)
    }

    func testNormalsAreStandard() {
        let generator = NoiseGenerator(seed: 11)
        var values = [Float](repeating: 0, count: 784)
        var sum = 0.0, squares = 0.0, fourth = 0.0, n = 0.0
        for sample in 0..<200 {
            generator.normals(epoch: 0, sample: sample, count: 784, into: &values)
            for v in values { let d = Double(v); sum += d; squares += d * d; fourth += d * d * d * d; n += 1 }
        }
        XCTAssertEqual(sum / n, 0, accuracy: 0.01)
        XCTAssertEqual(squares / n, 1, accuracy: 0.02)
        XCTAssertEqual(fourth / n, 3, accuracy: 0.1, "kurtosis of a normal")
    }

    func testCorruptClipsAndDenoisingOffIsClean() {
        let generator = NoiseGenerator(seed: 1)
        let image = (0..<784).map { UInt8(($0 * 7) % 256) }
        var clean = [Float](repeating: 0, count: 784), noisy = clean
        generator.corrupt(image, epoch: 0, sample: 5, factor: 0.5, clean: &clean, noisy: &noisy)
        XCTAssertTrue(noisy.allSatisfy { $0 >= 0 && $0 <= 1 })
        XCTAssertNotEqual(noisy, clean)
        XCTAssertEqual(clean[1], 7 / 255, accuracy: 1e-7)
        generator.corrupt(image, epoch: 0, sample: 5, factor: 0, clean: &clean, noisy: &noisy)
        XCTAssertEqual(noisy, clean)
    }

    /// A sample's noisy input is the same whichever rank assembles it, in whatever batch position.
    func testBatchAssemblyIsIndependentOfPosition() {
        let digits = Digits(pixels: (0..<(784 * 4)).map { UInt8($0 % 251) }, labels: [1, 2, 3, 4], sampleIndices: [10, 11, 12, 13])
        let noise = NoiseGenerator(seed: 9)
        var cleanA = [Float](repeating: 0, count: 784 * 2), noisyA = cleanA, cleanB = cleanA, noisyB = cleanA
        BatchAssembler.assemble(count: 2, digits: digits, row: { [3, 1][$0] }, sampleIndex: { [13, 11][$0] }, noise: noise,
                                epoch: 4, factor: 0.3, clean: &cleanA, noisy: &noisyA)
        BatchAssembler.assemble(count: 2, digits: digits, row: { [1, 3][$0] }, sampleIndex: { [11, 13][$0] }, noise: noise,
                                epoch: 4, factor: 0.3, clean: &cleanB, noisy: &noisyB)
        XCTAssertEqual(Array(noisyA[0..<784]), Array(noisyB[784...]))
        XCTAssertEqual(Array(noisyA[784...]), Array(noisyB[0..<784]))
    }

    /// What the training loop does per step before the model (the rank's sample indices, the
    /// clean and noisy batch) allocates nothing, like the step itself (`StepAllocationTests`).
    func testPreparingABatchAllocatesNothing() throws {
        try XCTSkipUnless(dae_allocation_counting_supported() != 0, "counting allocations needs glibc")
        #if DEBUG
        throw XCTSkip("a debug build boxes closure contexts on the heap; the check is for the optimised build (launch/test builds tests with -c release)")
        #endif
        let plan = try ShardPlan(trainCount: 1000, shards: 24, globalBatch: 96, worldSize: 2)
        let order = EpochOrder(plan: plan, seed: 3, epoch: 1, rank: 1, worldSize: 2)
        let digits = Digits(pixels: (0..<(784 * 1000)).map { UInt8($0 % 251) }, labels: [UInt8](repeating: 0, count: 1000),
                            sampleIndices: Array(0..<1000))
        let noise = NoiseGenerator(seed: 9)
        let indices = UnsafeMutablePointer<Int>.allocate(capacity: plan.globalBatch)
        let clean = UnsafeMutablePointer<Float>.allocate(capacity: plan.globalBatch * 784)
        let noisy = UnsafeMutablePointer<Float>.allocate(capacity: plan.globalBatch * 784)
        defer { indices.deallocate(); clean.deallocate(); noisy.deallocate() }
        var total = 0
        dae_allocation_counting_start()
        for step in 0..<plan.stepsPerEpoch {
            let n = order.samples(step: step, into: indices)
            BatchAssembler.assemble(count: n, digits: digits, row: { indices[$0] }, sampleIndex: { indices[$0] }, noise: noise,
                                    epoch: 1, factor: 0.1, clean: clean, noisy: noisy)
            total += n
        }
        let allocations = dae_allocation_counting_stop()
        XCTAssertEqual(allocations, 0, "\(plan.stepsPerEpoch) steps' batches made \(allocations) heap allocations")
        XCTAssertEqual(total, plan.stepsPerEpoch * plan.localBatch(rank: 1, worldSize: 2))
    }
}
