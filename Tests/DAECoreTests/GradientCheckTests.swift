import DAECore
import XCTest

/// Every layer twice: the Float64 reference's backward against Float64 central finite
/// differences (tolerance 1e-6 of the gradient's scale), then the Float32 production layer's
/// forward and backward against the reference (1e-5 of the scale: Float32 rounding).
final class GradientCheckTests: XCTestCase {
    /// Checks `layer.backward` against central differences of `L(z) = sum_i r_i f(z)_i`; returns `(z, r, dL/dz)`.
    @discardableResult
    private func checkFiniteDifferences(_ layer: ReferenceLayer, z: [Double], seed: UInt64,
                                        file: StaticString = #filePath, line: UInt = #line) -> (z: [Double], r: [Double], grad: [Double]) {
        let r = randomValues(layer.forward(z).count, seed: seed)
        let analytic = layer.backward(z, r)
        let h = 1e-5
        let scale = max(maxAbs(analytic), 1e-12)
        func loss(_ v: [Double]) -> Double { zip(layer.forward(v), r).reduce(0) { $0 + $1.0 * $1.1 } }
        var worst = 0.0
        for j in 0..<z.count {
            var plus = z, minus = z
            plus[j] += h
            minus[j] -= h
            let numeric = (loss(plus) - loss(minus)) / (2 * h)
            worst = max(worst, abs(numeric - analytic[j]) / scale)
        }
        XCTAssertLessThan(worst, 1e-6, "\(layer.name): reference backward vs finite differences", file: file, line: line)
        return (z, r, analytic)
    }

    private func assertClose(_ got: [Double], _ want: ArraySlice<Double>, _ what: String, tolerance: Double = 1e-5,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertLessThan(relativeError(got, want), tolerance, what, file: file, line: line)
    }

    func testConv2dStride2() { checkConv2d(batch: 2, inChannels: 3, outChannels: 4, side: 7, kernel: 3, stride: 2, padding: 1) }

    func testConvTranspose2dStride2OutputPadding1() {
        checkConvTranspose2d(batch: 2, inChannels: 3, outChannels: 2, side: 4, kernel: 3, stride: 2, padding: 1, outputPadding: 1)
    }

    /// Halving layers wide enough for the AVX-512 build's fused products (forward, weight
    /// gradient, and for the transposed layer its input gradient: `Halving`), in every build,
    /// over two shard slices.
    func testHalvingLayersWithTheFusedProducts() {
        checkConv2d(batch: 2, inChannels: 32, outChannels: 32, side: 2, kernel: 3, stride: 2, padding: 1, slices: [1, 1],
                    everyBuild: true)
        checkConvTranspose2d(batch: 2, inChannels: 32, outChannels: 32, side: 2, kernel: 3, stride: 2, padding: 1,
                             outputPadding: 1, slices: [1, 1], everyBuild: true)
    }

    /// One input channel, 3x3, stride 1, padding 1 (the model's first layer) runs `Direct3x3`:
    /// rows shorter than, equal to and longer than its 8 lanes, over several shard slices,
    /// with every build of the C kernels, and an odd channel count (the AVX-512 build pairs them).
    func testConv2dFromOneChannelDirect() {
        for side in [5, 8, 11] {
            checkConv2d(batch: 3, inChannels: 1, outChannels: 5, side: side, kernel: 3, stride: 1, padding: 1, slices: [2, 1],
                        everyBuild: true)
        }
    }

    /// One output channel, 3x3, stride 1, padding 1 (the model's last layer) runs `Direct3x3`.
    func testConvTranspose2dToOneChannelDirect() {
        for side in [5, 8, 11] {
            checkConvTranspose2d(batch: 3, inChannels: 5, outChannels: 1, side: side, kernel: 3, stride: 1, padding: 1,
                                 outputPadding: 0, slices: [1, 2], everyBuild: true)
        }
    }

    private func checkConv2d(batch n: Int, inChannels c: Int, outChannels oc: Int, side h: Int, kernel k: Int, stride s: Int, padding p: Int,
                             slices: [Int]? = nil, everyBuild: Bool = false, file: StaticString = #filePath, line: UInt = #line) {
        let reference = Reference.conv2d(batch: n, inChannels: c, outChannels: oc, side: h, kernel: k, stride: s, padding: p)
        let (z, r, grad) = checkFiniteDifferences(reference, z: randomValues(reference.inputCount, seed: 1), seed: 2, file: file, line: line)
        let xCount = n * c * h * h, wCount = oc * c * k * k
        // The production layer in every build the CPU runs, or in the one that runs.
        let compare = {
            let weight = TestParameter(Array(z[xCount..<(xCount + wCount)])), bias = TestParameter(Array(z[(xCount + wCount)...]))
            let layer = Conv2d(inChannels: c, outChannels: oc, kernel: k, stride: s, padding: p, inputHeight: h, inputWidth: h,
                               weight: weight.parameter, bias: bias.parameter)
            let o = layer.outputHeight, slices = slices ?? [n], name = reference.name
            let x = FloatBuffer(toChannelMajor(Array(z[0..<xCount]), batch: n, channels: c, plane: h * h))
            let y = FloatBuffer(count: n * oc * o * o)
            layer.forward(x.pointer, output: y.pointer, slices: slices, scratch: ThreadScratch())
            self.assertClose(fromChannelMajor(y.pointer, batch: n, channels: oc, plane: o * o), reference.forward(z)[...], "\(name) forward",
                        file: file, line: line)
            let dy = FloatBuffer(toChannelMajor(r, batch: n, channels: oc, plane: o * o)), dx = FloatBuffer(count: xCount)
            layer.backward(x.pointer, gradOutput: dy.pointer, gradInput: dx.pointer, slices: slices, scratch: ThreadScratch())
            self.assertClose(fromChannelMajor(dx.pointer, batch: n, channels: c, plane: h * h), grad[0..<xCount], "\(name) input gradient",
                        file: file, line: line)
            self.assertClose(weight.gradient.array.map(Double.init), grad[xCount..<(xCount + wCount)], "\(name) weight gradient", file: file, line: line)
            self.assertClose(bias.gradient.array.map(Double.init), grad[(xCount + wCount)...], "\(name) bias gradient", file: file, line: line)
        }
        if everyBuild { forEachKernelBuild(compare) } else { compare() }
    }

    private func checkConvTranspose2d(batch n: Int, inChannels c: Int, outChannels oc: Int, side h: Int, kernel k: Int, stride s: Int,
                                      padding p: Int, outputPadding v: Int, slices: [Int]? = nil, everyBuild: Bool = false,
                                      file: StaticString = #filePath, line: UInt = #line) {
        let reference = Reference.convTranspose2d(batch: n, inChannels: c, outChannels: oc, side: h, kernel: k, stride: s, padding: p, outputPadding: v)
        let (z, r, grad) = checkFiniteDifferences(reference, z: randomValues(reference.inputCount, seed: 3), seed: 4, file: file, line: line)
        let xCount = n * c * h * h, wCount = c * oc * k * k
        // The production layer in every build the CPU runs, or in the one that runs.
        let compare = {
            let weight = TestParameter(Array(z[xCount..<(xCount + wCount)])), bias = TestParameter(Array(z[(xCount + wCount)...]))
            let layer = ConvTranspose2d(inChannels: c, outChannels: oc, kernel: k, stride: s, padding: p, outputPadding: v,
                                        inputHeight: h, inputWidth: h, weight: weight.parameter, bias: bias.parameter)
            let o = layer.outputHeight, slices = slices ?? [n], name = reference.name
            XCTAssertEqual(o, (h - 1) * s - 2 * p + k + v, file: file, line: line)
            let x = FloatBuffer(toChannelMajor(Array(z[0..<xCount]), batch: n, channels: c, plane: h * h))
            let y = FloatBuffer(count: n * oc * o * o), scratch = ThreadScratch()
            layer.forward(x.pointer, output: y.pointer, slices: slices, scratch: scratch)
            self.assertClose(fromChannelMajor(y.pointer, batch: n, channels: oc, plane: o * o), reference.forward(z)[...], "\(name) forward",
                        file: file, line: line)
            let dy = FloatBuffer(toChannelMajor(r, batch: n, channels: oc, plane: o * o)), dx = FloatBuffer(count: xCount)
            layer.backward(x.pointer, gradOutput: dy.pointer, gradInput: dx.pointer, slices: slices, scratch: scratch)
            self.assertClose(fromChannelMajor(dx.pointer, batch: n, channels: c, plane: h * h), grad[0..<xCount], "\(name) input gradient",
                        file: file, line: line)
            self.assertClose(weight.gradient.array.map(Double.init), grad[xCount..<(xCount + wCount)], "\(name) weight gradient", file: file, line: line)
            self.assertClose(bias.gradient.array.map(Double.init), grad[(xCount + wCount)...], "\(name) bias gradient", file: file, line: line)
        }
        if everyBuild { forEachKernelBuild(compare) } else { compare() }
    }

    private func checkBatchNorm(slope: Float?) throws {
        let (n, c, plane) = (3, 2, 16)
        let reference = Reference.batchNorm2d(batch: n, channels: c, plane: plane, slope: slope.map(Double.init))
        var start = randomValues(reference.inputCount, seed: 5, scale: 2)
        for j in 0..<c { start[n * c * plane + j] = 0.5 + Double(j) }  // gamma away from 0
        let (z, r, grad) = checkFiniteDifferences(reference, z: start, seed: 6)
        let xCount = n * c * plane
        let weight = TestParameter(Array(z[xCount..<(xCount + c)])), bias = TestParameter(Array(z[(xCount + c)...]))
        let running = FloatBuffer([0, 0, 1, 1])
        let tracked = AlignedBuffer<Int64>(count: 1)
        let layer = BatchNorm2d(channels: c, plane: plane, negativeSlope: slope, weight: weight.parameter, bias: bias.parameter,
                                runningMean: running.pointer, runningVar: running.pointer + 2, batchesTracked: tracked.pointer)
        let x = FloatBuffer(toChannelMajor(Array(z[0..<xCount]), batch: n, channels: c, plane: plane))
        let y = FloatBuffer(count: xCount)
        try layer.forwardTraining(x.pointer, output: y.pointer, slices: [n], communicator: nil)
        let name = reference.name
        assertClose(fromChannelMajor(y.pointer, batch: n, channels: c, plane: plane), reference.forward(z)[...], "\(name) forward")
        let dy = FloatBuffer(toChannelMajor(r, batch: n, channels: c, plane: plane)), dx = FloatBuffer(count: xCount)
        try layer.backward(x.pointer, gradOutput: dy.pointer, gradInput: dx.pointer, slices: [n], communicator: nil)
        assertClose(fromChannelMajor(dx.pointer, batch: n, channels: c, plane: plane), grad[0..<xCount], "\(name) input gradient")
        assertClose(weight.gradient.array.map(Double.init), grad[xCount..<(xCount + c)], "\(name) weight gradient")
        assertClose(bias.gradient.array.map(Double.init), grad[(xCount + c)...], "\(name) bias gradient")

        // Running statistics: momentum 0.1 towards the batch mean and the *unbiased* batch variance.
        XCTAssertEqual(tracked[0], 1)
        for ch in 0..<c {
            let values = (0..<n).flatMap { b in (0..<plane).map { z[(b * c + ch) * plane + $0] } }
            let mean = values.reduce(0, +) / Double(values.count)
            let unbiased = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)
            XCTAssertEqual(Double(running[ch]), 0.1 * mean, accuracy: 1e-6)
            XCTAssertEqual(Double(running[2 + ch]), 0.9 + 0.1 * unbiased, accuracy: 1e-6)
        }
        // In-place backward (gradInput aliasing gradOutput) gives the same input gradient, and
        // the gradient of the bias before the layer is that input gradient's sum per channel.
        let inputBias = TestParameter([Double](repeating: 0, count: c))
        try layer.backward(x.pointer, gradOutput: dy.pointer, gradInput: dy.pointer, slices: [n], communicator: nil,
                           inputBias: inputBias.parameter)
        XCTAssertEqual(dy.array, dx.array)
        for ch in 0..<c {
            let sum = (0..<(n * plane)).reduce(0.0) { $0 + Double(dx[ch * n * plane + $1]) }
            XCTAssertEqual(inputBias.gradientSum[ch], sum, accuracy: 1e-6 * max(1, abs(sum)), "\(name) input bias gradient")
            XCTAssertEqual(inputBias.gradient[ch], Float(inputBias.gradientSum[ch]))
        }
        // Evaluation mode normalises with the running statistics.
        layer.forwardInference(x.pointer, output: y.pointer, batch: n)
        for ch in 0..<c {
            let scale = weight.value[ch] / (running[2 + ch] + 1e-5).squareRoot()
            var expected = scale * (x[ch * n * plane] - running[ch]) + bias.value[ch]
            if let slope, expected < 0 { expected *= slope }
            XCTAssertEqual(y[ch * n * plane], expected, accuracy: 1e-5)
        }
    }

    func testBatchNorm2dTraining() throws { try checkBatchNorm(slope: nil) }
    func testBatchNorm2dWithFusedLeakyReLU() throws { try checkBatchNorm(slope: 0.01) }

    func testLinear() {
        let (n, i, o) = (3, 5, 4)
        let reference = Reference.linear(batch: n, inFeatures: i, outFeatures: o)
        let (z, r, grad) = checkFiniteDifferences(reference, z: randomValues(reference.inputCount, seed: 7), seed: 8)
        let weight = TestParameter(Array(z[(n * i)..<(n * i + o * i)])), bias = TestParameter(Array(z[(n * i + o * i)...]))
        let layer = Linear(inFeatures: i, outFeatures: o, weight: weight.parameter, bias: bias.parameter)
        let x = FloatBuffer(z[0..<(n * i)].map(Float.init)), y = FloatBuffer(count: n * o)
        layer.forward(x.pointer, output: y.pointer, slices: [n])
        assertClose(y.array.map(Double.init), reference.forward(z)[...], "Linear forward")
        let dy = FloatBuffer(r.map(Float.init)), dx = FloatBuffer(count: n * i)
        layer.backward(x.pointer, gradOutput: dy.pointer, gradInput: dx.pointer, slices: [n], scratch: ThreadScratch())
        assertClose(dx.array.map(Double.init), grad[0..<(n * i)], "Linear input gradient")
        assertClose(weight.gradient.array.map(Double.init), grad[(n * i)..<(n * i + o * i)], "Linear weight gradient")
        assertClose(bias.gradient.array.map(Double.init), grad[(n * i + o * i)...], "Linear bias gradient")
    }

    func testLeakyReLU() {
        let count = 40
        let reference = Reference.leakyReLU(count: count)
        let (z, r, grad) = checkFiniteDifferences(reference, z: randomValues(count, seed: 9), seed: 10)
        let x = FloatBuffer(z.map(Float.init)), y = FloatBuffer(count: count)
        LeakyReLU.forward(x.pointer, output: y.pointer, count: count)
        assertClose(y.array.map(Double.init), reference.forward(z)[...], "LeakyReLU forward")
        let dy = FloatBuffer(r.map(Float.init)), dx = FloatBuffer(count: count)
        LeakyReLU.backward(output: y.pointer, gradOutput: dy.pointer, gradInput: dx.pointer, count: count)
        assertClose(dx.array.map(Double.init), grad[...], "LeakyReLU gradient")
    }

    func testSigmoid() {
        let count = 40
        let reference = Reference.sigmoid(count: count)
        let (z, r, grad) = checkFiniteDifferences(reference, z: randomValues(count, seed: 11, scale: 4), seed: 12)
        let x = FloatBuffer(z.map(Float.init)), y = FloatBuffer(count: count)
        Sigmoid.forward(x.pointer, output: y.pointer, count: count)
        assertClose(y.array.map(Double.init), reference.forward(z)[...], "Sigmoid forward")
        let dy = FloatBuffer(r.map(Float.init)), dx = FloatBuffer(count: count)
        Sigmoid.backward(output: y.pointer, gradOutput: dy.pointer, gradInput: dx.pointer, count: count)
        assertClose(dx.array.map(Double.init), grad[...], "Sigmoid gradient")
    }

    func testMSELoss() {
        let count = 30
        let reference = Reference.mse(count: count)
        let (z, r, grad) = checkFiniteDifferences(reference, z: randomValues(2 * count, seed: 13), seed: 14)
        let prediction = FloatBuffer(z[0..<count].map(Float.init)), target = FloatBuffer(z[count...].map(Float.init))
        let loss = MSELoss.sumOfSquares(prediction.pointer, target: target.pointer, count: count) / Double(count)
        XCTAssertEqual(loss, reference.forward(z)[0], accuracy: 1e-6 * abs(reference.forward(z)[0]))
        let g = FloatBuffer(count: count)
        MSELoss.gradient(prediction.pointer, target: target.pointer, count: count, meanOver: count, into: g.pointer)
        assertClose(g.array.map { Double($0) * r[0] }, grad[0..<count], "MSELoss gradient")
    }
}
