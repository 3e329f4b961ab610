import CAllocationCounter
import DAECore
import XCTest

/// "No allocation per step": after the first steps have sized every per-thread buffer, a
/// training step (forward, loss, backward, Adam) allocates nothing on the heap. Checked at one
/// compute thread, the configuration of one rank per core under MPI; with several threads
/// per rank, `DispatchQueue.concurrentPerform` and Swift's `withoutActuallyEscaping` allocate
/// a few small blocks per parallel region (see `Parallel`).
final class StepAllocationTests: XCTestCase {
    func testTrainingStepAllocatesNothingAfterWarmUp() throws {
        try XCTSkipUnless(dae_allocation_counting_supported() != 0, "counting allocations needs glibc")
        #if DEBUG
        throw XCTSkip("a debug build boxes closure contexts on the heap; the check is for the optimised build (launch/test builds tests with -c release)")
        #endif
        ComputeThreads.set(1)
        let training = RandomBatchTraining(latentDim: 2, slices: [6, 5, 6, 5], modelSeed: 5, dataSeed: 9)
        for _ in 0..<2 { try training.run() }

        // The counter must see allocations for its zero below to mean anything.
        dae_allocation_counting_start()
        let probe = UnsafeMutablePointer<Double>.allocate(capacity: 1000)
        let seen = dae_allocation_counting_stop()
        probe.deallocate()
        XCTAssertGreaterThan(seen, 0, "the allocation counter missed an allocation")

        var losses: [Double] = []
        losses.reserveCapacity(3)
        dae_allocation_counting_start()
        for _ in 0..<3 { losses.append(try training.run()) }
        let allocations = dae_allocation_counting_stop()
        XCTAssertEqual(allocations, 0, "3 training steps made \(allocations) heap allocations")
        XCTAssertTrue(losses.allSatisfy(\.isFinite), "losses \(losses)")
    }
}
