import DAECore
import XCTest

/// Every build of the C kernels this CPU can run, against each other, through whole training
/// steps (forward, backward, Adam) of the model. The AVX-512 and AVX2 builds run the same
/// arithmetic in the same order, so their parameters must be bit-identical; the baseline has
/// no FMA, so it rounds differently: its first step's output and its losses are held to 1e-5
/// (relative), its parameters not at all, since Adam turns rounding-level gradients into
/// moves of up to lr (see `ModelReferenceTests`, which holds every build to PyTorch).
final class KernelBuildTests: XCTestCase {
    override func tearDown() { KernelBuild.force(nil) }

    /// The parameters and losses after 3 steps with `build`.
    private func train(with build: ISA) throws -> (parameters: [Float], output: [Float], losses: [Double]) {
        KernelBuild.force(build)
        XCTAssertEqual(KernelBuild.current, build)
        ComputeThreads.set(1)
        let training = RandomBatchTraining(latentDim: 2, slices: [5, 4], modelSeed: 3, dataSeed: 4)
        var losses = [try training.run()]
        let model = training.step.model
        let output = Array(UnsafeBufferPointer(start: model.output.pointer, count: training.batch * Architecture.imagePixels))
        for _ in 0..<2 { losses.append(try training.run()) }
        return (Array(model.parameters.values.buffer), output, losses)
    }

    func testAVX512BuildIsBitIdenticalToAVX2() throws {
        try XCTSkipUnless(KernelBuild.runnable.contains(.avx512), "this CPU (\(CPU.model)) has no AVX-512: only its build logic is checked")
        let avx2 = try train(with: .avx2FMA), avx512 = try train(with: .avx512)
        XCTAssertEqual(avx512.losses, avx2.losses)
        XCTAssertTrue(avx512.output.elementsEqual(avx2.output) { $0.bitPattern == $1.bitPattern }, "outputs differ in bits")
        XCTAssertTrue(avx512.parameters.elementsEqual(avx2.parameters) { $0.bitPattern == $1.bitPattern }, "parameters differ in bits")
    }

    func testBaselineBuildMatchesTheWidest() throws {
        let widest = KernelBuild.runnable.last ?? .baseline
        try XCTSkipIf(widest == .baseline, "this CPU runs only the baseline build")
        let wide = try train(with: widest), baseline = try train(with: .baseline)
        for (a, b) in zip(wide.losses, baseline.losses) { XCTAssertEqual(a, b, accuracy: 1e-5 * a) }
        let scale = wide.output.map { abs($0) }.max() ?? 1
        let worst = zip(wide.output, baseline.output).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThan(worst, 1e-5 * scale)
        XCTAssertFalse(wide.output.elementsEqual(baseline.output), "the baseline build should round differently (no FMA)")
    }

    /// A build the CPU cannot run is never chosen; `nil` goes back to the widest the CPU has.
    func testChoiceStaysWithinTheCPU() {
        for build in KernelBuild.all {
            KernelBuild.force(build)
            XCTAssertLessThanOrEqual(KernelBuild.current, CPU.isa)
            XCTAssertTrue(KernelBuild.all.contains(KernelBuild.current))
        }
        KernelBuild.force(nil)
        if ProcessInfo.processInfo.environment["DAE_KERNELS"] == nil {
            XCTAssertEqual(KernelBuild.current, KernelBuild.runnable.last)
        }
    }
}
