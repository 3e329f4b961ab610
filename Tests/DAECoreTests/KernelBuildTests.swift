import DAECore
import XCTest

/// Every build of the C kernels this CPU can run, against each other, through whole training
/// steps (forward, backward, Adam) of the model. The AVX-512 and AVX2 builds run the same
/// element-wise arithmetic in the same order (Im2colTests checks their bits kernel by kernel),
/// but the AVX-512 build also runs the halving convolutions' forward product itself
/// (`FusedConvTests`), whose sums OpenBLAS may group otherwise; the baseline has no FMA. So
/// each build's first step's output and its losses are held to the widest's to 1e-5
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

    func testEveryBuildMatchesTheWidest() throws {
        let widest = KernelBuild.runnable.last ?? .baseline
        try XCTSkipIf(widest == .baseline, "this CPU runs only the baseline build")
        let wide = try train(with: widest)
        for build in KernelBuild.runnable.dropLast() {
            let other = try train(with: build)
            for (a, b) in zip(wide.losses, other.losses) { XCTAssertEqual(a, b, accuracy: 1e-5 * a, build.name) }
            let scale = wide.output.map { abs($0) }.max() ?? 1
            let worst = zip(wide.output, other.output).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThan(worst, 1e-5 * scale, build.name)
            if build == .baseline {
                XCTAssertFalse(wide.output.elementsEqual(other.output), "the baseline build should round differently (no FMA)")
            }
        }
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

    /// The direct single-channel convolutions (`Direct3x3`) take channels in pairs in the
    /// AVX-512 build; each value's arithmetic is still the AVX2 build's: the same bits, for
    /// an odd channel count and rows shorter than, equal to and longer than 8 lanes.
    func testDirectKernelsGiveTheAVX2BuildsBits() throws {
        try XCTSkipUnless(KernelBuild.runnable.contains(.avx512), "this CPU (\(CPU.model)) has no AVX-512 build to compare")
        let (channels, slices) = (5, [2, 1])
        let batch = slices.reduce(0, +)
        for side in [5, 8, 28] {
            let plane = side * side
            let image = FloatBuffer(randomValues(batch * plane, seed: 21).map(Float.init))
            let maps = FloatBuffer(randomValues(channels * batch * plane, seed: 22).map(Float.init))
            var results: [[UInt32]] = []
            for build in [ISA.avx512, .avx2FMA] {
                KernelBuild.force(build)
                let weight = TestParameter(randomValues(channels * 9, seed: 23)), bias = TestParameter(randomValues(channels, seed: 24))
                let conv = Conv2d(inChannels: 1, outChannels: channels, kernel: 3, stride: 1, padding: 1, inputHeight: side,
                                  inputWidth: side, weight: weight.parameter, bias: bias.parameter)
                let convOut = FloatBuffer(count: channels * batch * plane)
                conv.forward(image.pointer, output: convOut.pointer, slices: slices, scratch: ThreadScratch())
                conv.backward(image.pointer, gradOutput: maps.pointer, gradInput: nil, slices: slices, scratch: ThreadScratch())
                let convGradient = weight.gradient.array

                let tWeight = TestParameter(randomValues(channels * 9, seed: 25)), tBias = TestParameter(randomValues(1, seed: 26))
                let transposed = ConvTranspose2d(inChannels: channels, outChannels: 1, kernel: 3, stride: 1, padding: 1,
                                                 outputPadding: 0, inputHeight: side, inputWidth: side,
                                                 weight: tWeight.parameter, bias: tBias.parameter)
                let single = FloatBuffer(count: batch * plane), gradMaps = FloatBuffer(count: channels * batch * plane)
                transposed.forward(maps.pointer, output: single.pointer, slices: slices, scratch: ThreadScratch())
                transposed.backward(maps.pointer, gradOutput: image.pointer, gradInput: gradMaps.pointer, slices: slices,
                                    scratch: ThreadScratch())
                results.append((convOut.array + convGradient + single.array + gradMaps.array + tWeight.gradient.array).map(\.bitPattern))
            }
            XCTAssertEqual(results[0], results[1], "side \(side)")
        }
    }
}
