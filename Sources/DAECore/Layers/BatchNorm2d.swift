#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a BatchNorm layer gets the batch statistics it normalises with.
public enum BatchNormStatistics: String, Sendable, CaseIterable {
    /// Statistics of the global batch: per-channel (count, sum, sum of squares) are
    /// all-reduced in forward, (sum dy, sum dy * x_hat) in backward, as SyncBatchNorm does.
    case sync
    /// Each rank's own batch (PyTorch DDP's behaviour on CPU).
    case local
}

/// `nn.BatchNorm2d` (eps 1e-5, momentum 0.1) with an optional fused LeakyReLU after it.
///
/// Training normalises with the biased batch variance and updates `running_var` with the
/// unbiased one; evaluation uses the running statistics. Sums are accumulated in Double so
/// that the one-pass variance `E[x^2] - E[x]^2` stays exact to Float precision, and so that
/// the sums can be all-reduced before use (sync mode). The layer owns its small scratch
/// buffers, allocated once.
public struct BatchNorm2d {
    public let channels: Int
    /// `H * W` of one channel of one image.
    public let plane: Int
    public let eps: Double = 1e-5
    public let momentum: Double = 0.1
    /// Slope of the fused LeakyReLU applied to the output, or nil for none.
    public let negativeSlope: Float?
    public let weight: Parameter
    public let bias: Parameter
    public let runningMean: UnsafeMutablePointer<Float>
    public let runningVar: UnsafeMutablePointer<Float>
    public let batchesTracked: UnsafeMutablePointer<Int64>

    /// `[count, sum_c..., sumsq_c...]` in forward, `[sum dy_c..., sum dy*xhat_c...]` in backward.
    private let sums: DoubleBuffer
    /// Per-channel mean and 1/sqrt(var + eps) of the last forward, used by backward.
    private let savedMean: DoubleBuffer
    private let savedInvStd: DoubleBuffer
    private let savedCount: DoubleBuffer
    /// Per-channel Float scale and shift the last forward normalised with: backward recomputes
    /// the LeakyReLU's branch from them and the input, bit for bit as forward took it.
    private let savedScale: FloatBuffer
    private let savedShift: FloatBuffer

    public init(channels: Int, plane: Int, negativeSlope: Float?, weight: Parameter, bias: Parameter,
                runningMean: UnsafeMutablePointer<Float>, runningVar: UnsafeMutablePointer<Float>,
                batchesTracked: UnsafeMutablePointer<Int64>) {
        precondition(weight.count == channels && bias.count == channels, "BatchNorm2d parameter size")
        self.channels = channels
        self.plane = plane
        self.negativeSlope = negativeSlope
        self.weight = weight
        self.bias = bias
        self.runningMean = runningMean
        self.runningVar = runningVar
        self.batchesTracked = batchesTracked
        sums = DoubleBuffer(count: 1 + 2 * channels)
        savedMean = DoubleBuffer(count: channels)
        savedInvStd = DoubleBuffer(count: channels)
        savedCount = DoubleBuffer(count: 1)
        savedScale = FloatBuffer(count: channels)
        savedShift = FloatBuffer(count: channels)
    }

    /// Training-mode forward: batch statistics (global ones when `communicator` is given),
    /// running statistics updated. `input` and `output` are `[C][N*plane]`.
    ///
    /// Sums are taken per batch slice and added in Double (see `Parameter`), so they do not
    /// depend on how the global batch is split over ranks. With other ranks to sum with, every
    /// channel's sums are taken, exchanged, and then every channel is normalised; alone, each
    /// channel is normalised right after its sums, while its values are still in L2 (the
    /// same numbers, one read of the activations from memory fewer).
    public func forwardTraining(_ input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, slices: [Int],
                                communicator: Communicator?) throws {
        let length = slices.reduce(0, +) * plane
        sums[0] = Double(length)
        let streaming = streams(length: length)
        if let communicator, communicator.size > 1 {
            Parallel.forEach(channels) { c in sumChannel(c, input, slices: slices) }
            try communicator.allReduceSum(sums.buffer)
            checkCount()
            for c in 0..<channels { finishStatistics(c) }
            Parallel.forEach(channels) { c in normalizeChannel(c, input, output: output, length: length, streaming: streaming) }
        } else {
            checkCount()
            Parallel.forEach(channels) { c in
                sumChannel(c, input, slices: slices)
                finishStatistics(c)
                normalizeChannel(c, input, output: output, length: length, streaming: streaming)
            }
        }
        batchesTracked.pointee += 1
    }

    /// Evaluation-mode forward with the running statistics.
    public func forwardInference(_ input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, batch: Int) {
        for c in 0..<channels {
            savedMean[c] = Double(runningMean[c])
            savedInvStd[c] = 1 / (Double(runningVar[c]) + eps).squareRoot()
        }
        let length = batch * plane, streaming = streams(length: length)
        Parallel.forEach(channels) { c in normalizeChannel(c, input, output: output, length: length, streaming: streaming) }
    }

    private func checkCount() {
        precondition(sums[0] > 1, "BatchNorm2d needs more than one value per channel in training mode")
        savedCount[0] = sums[0]
    }

    /// Channel `c`'s sum and sum of squares over the batch, slice by slice, into `sums`.
    private func sumChannel(_ c: Int, _ input: UnsafePointer<Float>, slices: [Int]) {
        let (plane, channels) = (plane, channels)
        let x = input + c * slices.reduce(0, +) * plane
        var sum: Double = 0, squares: Double = 0
        forEachSlice(slices) { _, start, size in
            let part = Reductions.sumAndSquares(x + start * plane, count: size * plane)
            sum += part.sum
            squares += part.squares
        }
        sums[1 + c] = sum
        sums[1 + channels + c] = squares
    }

    /// Channel `c`'s mean and 1/std from `sums` (over `savedCount` values), and its running
    /// statistics updated.
    private func finishStatistics(_ c: Int) {
        let count = savedCount[0]
        let mean = sums[1 + c] / count
        let variance = max(sums[1 + channels + c] / count - mean * mean, 0)
        savedMean[c] = mean
        savedInvStd[c] = 1 / (variance + eps).squareRoot()
        runningMean[c] = Float((1 - momentum) * Double(runningMean[c]) + momentum * mean)
        runningVar[c] = Float((1 - momentum) * Double(runningVar[c]) + momentum * variance * count / (count - 1))
    }

    /// Whether an output of `length` values per channel is written past the cache: larger
    /// than L2, it cannot stay there for the next layer, and ordinary stores would first read
    /// in every line they overwrite.
    private func streams(length: Int) -> Bool {
        channels * length * MemoryLayout<Float>.size > CPU.level2CacheBytes
    }

    /// Channel `c` of `y = act(gamma * (x - mean) * invStd + beta)`, as one affine map.
    private func normalizeChannel(_ c: Int, _ input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, length: Int,
                                  streaming: Bool) {
        let scale = Float(Double(weight.value[c]) * savedInvStd[c])
        let shift = Float(Double(bias.value[c]) - savedMean[c] * Double(weight.value[c]) * savedInvStd[c])
        savedScale[c] = scale
        savedShift[c] = shift
        ChannelMaps.affineLeakyReLU(input + c * length, output + c * length, count: length,
                                    scale: scale, shift: shift, slope: negativeSlope ?? 1, streaming: streaming)
    }

    /// Backward of the last training-mode forward, in two passes over `input` and
    /// `gradOutput`: `parameterGradients`, then (after the all-reduce of its sums, with other
    /// ranks, as the global batch's statistics demand) `inputGradient`; alone, channel by
    /// channel, the second pass reading what the first left in L2.
    /// `gradInput` may alias `gradOutput`. `inputBias` is the bias of the layer that produced
    /// `input`, whose gradient the second pass sums (see `inputGradient`).
    ///
    /// The LeakyReLU's branch is recomputed from the input with forward's own scale and shift
    /// rather than read from the output, and the masked gradient is never stored.
    public func backward(_ input: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>,
                         gradInput: UnsafeMutablePointer<Float>, slices: [Int], communicator: Communicator?,
                         inputBias: Parameter? = nil) throws {
        if let communicator, communicator.size > 1 {
            Parallel.forEach(channels) { c in parameterGradients(c, input, gradOutput: gradOutput, slices: slices) }
            try communicator.allReduceSum(UnsafeMutableBufferPointer(start: sums.pointer, count: 2 * channels))
            Parallel.forEach(channels) { c in
                inputGradient(c, input, gradOutput: gradOutput, gradInput: gradInput, slices: slices, inputBias: inputBias)
            }
        } else {  // alone: each channel's second pass right after its first, its values still in L2
            Parallel.forEach(channels) { c in
                parameterGradients(c, input, gradOutput: gradOutput, slices: slices)
                inputGradient(c, input, gradOutput: gradOutput, gradInput: gradInput, slices: slices, inputBias: inputBias)
            }
        }
    }

    /// Pass one, for channel `c`: `sum dy'` (the bias gradient) and `sum dy' * xhat` (the
    /// weight gradient), where dy' is the gradient through the LeakyReLU; into the parameters'
    /// Double sums and into `sums` for the input gradient.
    private func parameterGradients(_ c: Int, _ input: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>, slices: [Int]) {
        let plane = plane
        let length = slices.reduce(0, +) * plane
        let x = input + c * length, dy = gradOutput + c * length
        let (scale, shift, mean) = (savedScale[c], savedShift[c], Float(savedMean[c]))
        // Centre on the Float mean so the Float partial sums do not cancel.
        var sumDy: Double = 0, centered: Double = 0
        forEachSlice(slices) { _, start, size in
            let part = Reductions.activationGradientSums(dy + start * plane, x + start * plane, scale: scale, shift: shift,
                                                         slope: negativeSlope ?? 1, mean: mean, count: size * plane)
            sumDy += part.sum
            centered += part.dot
        }
        let sumDyXhat = centered * savedInvStd[c]
        sums[c] = sumDy
        sums[channels + c] = sumDyXhat
        bias.gradientSum[c] = sumDy
        weight.gradientSum[c] = sumDyXhat
    }

    /// Pass two, for channel `c`, the fused input-gradient pass: `gradInput`, and with it the
    /// gradient of `inputBias` (the bias of the layer before, added to every value of its
    /// channel), which is `gradInput`'s sum per channel. It is taken here, slice by slice as
    /// `BiasGradient.sumRowsBySlice` would take it, while the values are in registers, instead
    /// of in another pass over memory; that layer's backward then skips its bias.
    private func inputGradient(_ c: Int, _ input: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>,
                               gradInput: UnsafeMutablePointer<Float>, slices: [Int], inputBias: Parameter?) {
        let plane = plane
        let length = slices.reduce(0, +) * plane
        let g = gradInput + c * length, dy = gradOutput + c * length, x = input + c * length
        let mean = savedMean[c], invStd = savedInvStd[c], count = savedCount[0]
        let (forwardScale, forwardShift) = (savedScale[c], savedShift[c])
        let meanDy = sums[c] / count, meanDyXhat = sums[channels + c] / count
        let scale = Float(Double(weight.value[c]) * invStd)
        // dx = gamma * invStd * (dy' - mean(dy') - xhat * mean(dy' * xhat)), with xhat = (x - mean) * invStd
        // and dy' the gradient through the LeakyReLU.
        let a = Float(meanDyXhat * invStd), m = Float(mean), b = Float(meanDy)
        var sumG: Double = 0
        forEachSlice(slices) { _, start, size in
            let offset = start * plane
            sumG += ChannelMaps.batchNormInputGradient(dy + offset, x + offset, g + offset, count: size * plane,
                                                       forwardScale: forwardScale, forwardShift: forwardShift,
                                                       slope: negativeSlope ?? 1, scale: scale, meanDy: b, mean: m, a: a)
        }
        inputBias?.gradientSum[c] = sumG
    }
}
