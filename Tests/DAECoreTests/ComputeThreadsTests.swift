import DAECore
import XCTest

/// Several compute threads share out a step's shard slices (`Parallel`, `ThreadScratch`):
/// the step must give bit-for-bit what one thread gives, whatever the thread count.
final class ComputeThreadsTests: XCTestCase {
    /// Three training steps on one random batch split into `slices`; the parameters, gradients
    /// and losses after them.
    private func train(threads: Int, slices: [Int], latentDim: Int = 3) throws -> (values: [Float], gradients: [Float], losses: [Double]) {
        ComputeThreads.set(threads)
        defer { ComputeThreads.set(1) }
        let training = RandomBatchTraining(latentDim: latentDim, slices: slices, modelSeed: 7, dataSeed: 11)
        var losses: [Double] = []
        for _ in 0..<3 { losses.append(try training.run()) }
        let model = training.step.model
        return (model.parameters.values.array, model.parameters.gradients.array, losses)
    }

    func testTwoAndThreeThreadsTrainBitIdenticallyToOne() throws {
        let slices = [3, 2, 3, 2, 3]  // uneven, and not a multiple of the thread counts
        let one = try train(threads: 1, slices: slices)
        for threads in [2, 3] {
            let many = try train(threads: threads, slices: slices)
            XCTAssertEqual(many.losses, one.losses, "\(threads) threads: losses")
            XCTAssertTrue(many.gradients == one.gradients, "\(threads) threads: gradients differ")
            XCTAssertTrue(many.values == one.values, "\(threads) threads: parameters differ")
        }
    }

    /// Per-slice gradient partials have a memory budget; a parameter beyond it (here the
    /// Linear layers of a 1200-wide latent, 3.8 M values x 5 slices) sums on one thread.
    func testParametersBeyondThePartialBudgetGiveTheSameBits() throws {
        let slices = [3, 2, 3, 2, 3]
        let one = try train(threads: 1, slices: slices, latentDim: 1200)
        let two = try train(threads: 2, slices: slices, latentDim: 1200)
        XCTAssertEqual(two.losses, one.losses)
        XCTAssertTrue(two.gradients == one.gradients, "gradients differ")
        XCTAssertTrue(two.values == one.values, "parameters differ")
    }

    func testEvaluationDoesNotDependOnThreads() throws {
        func evaluate(threads: Int) throws -> [Float] {
            ComputeThreads.set(threads)
            defer { ComputeThreads.set(1) }
            let model = Autoencoder(latentDim: 2, maxBatch: 70, seed: 3)
            for i in 0..<model.input.count { model.input[i] = Float(i % 29) / 29 }
            try model.forward(batch: 70, training: false)  // runs of 32 samples, shared out to the threads
            return model.output.array
        }
        XCTAssertTrue(try evaluate(threads: 2) == evaluate(threads: 1))
    }
}
