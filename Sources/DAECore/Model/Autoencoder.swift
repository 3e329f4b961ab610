/// The convolutional denoising autoencoder of DESIGN.md: its layers, its parameters in one
/// buffer, and every activation and workspace for batches up to `maxBatch`, allocated once.
///
/// One step: write the (noisy) images into `input`, call `forward`, then `backward` with the
/// clean targets; parameter gradients are then in `parameters.gradients`. Activations are
/// channel-major (`[C][N][H][W]`) between convolutions and sample-major (`[N][features]`)
/// around the linear layers.
public final class Autoencoder {
    public let latentDim: Int
    public let maxBatch: Int
    public let batchNormStatistics: BatchNormStatistics
    public let communicator: Communicator
    public let parameters: ParameterSet
    public let batchNormState: BatchNormState

    // Layers, in forward order.
    let conv1: Conv2d, norm1: BatchNorm2d
    let conv2: Conv2d, norm2: BatchNorm2d
    let conv3: Conv2d, norm3: BatchNorm2d
    let encoderLinear: Linear
    let decoderLinear: Linear
    let deconv1: ConvTranspose2d, norm4: BatchNorm2d
    let deconv2: ConvTranspose2d, norm5: BatchNorm2d
    let deconv3: ConvTranspose2d

    /// The images fed to `forward`, `[N][1][28][28]`.
    public let input: FloatBuffer
    /// The reconstructions, `[N][1][28][28]`, after `forward`.
    public let output: FloatBuffer
    /// The latent codes `[N][d]` (after the encoder's last LeakyReLU), after `forward`.
    public let latent: FloatBuffer

    // Pre- and post-BatchNorm activations, kept for backward.
    let conv1Out: FloatBuffer, act1: FloatBuffer
    let conv2Out: FloatBuffer, act2: FloatBuffer
    let conv3Out: FloatBuffer, act3: FloatBuffer
    let flat: FloatBuffer, latentPre: FloatBuffer
    let decoded: FloatBuffer, unflat: FloatBuffer
    let deconv1Out: FloatBuffer, act4: FloatBuffer
    let deconv2Out: FloatBuffer, act5: FloatBuffer
    let logits: FloatBuffer
    // Backward scratch: two ping-pong gradient buffers, the latent's gradient.
    let gradA: FloatBuffer, gradB: FloatBuffer, gradLatent: FloatBuffer
    /// Per-thread weight-gradient partials and one shard slice's im2col (see `ThreadScratch`).
    let threadScratch = ThreadScratch()

    public init(latentDim: Int, maxBatch: Int, batchNormStatistics: BatchNormStatistics = .sync,
                communicator: Communicator = SingleProcessCommunicator(), seed: UInt64 = 0) {
        precondition(latentDim > 0 && maxBatch > 0, "latent size and batch must be positive")
        self.latentDim = latentDim
        self.maxBatch = maxBatch
        self.batchNormStatistics = batchNormStatistics
        self.communicator = communicator
        let p = ParameterSet(Architecture.parameters(latentDim: latentDim))
        let s = BatchNormState(Architecture.runningStatistics(), layers: Architecture.batchNorms.count)
        parameters = p
        batchNormState = s
        p.initialize(seed: seed)

        func norm(_ index: Int, plane: Int, slope: Float?) -> BatchNorm2d {
            let (name, channels) = Architecture.batchNorms[index]
            return BatchNorm2d(channels: channels, plane: plane, negativeSlope: slope,
                               weight: p.parameter(name + ".weight"), bias: p.parameter(name + ".bias"),
                               runningMean: s.pointer(name + ".running_mean"), runningVar: s.pointer(name + ".running_var"),
                               batchesTracked: s.batchesTracked.pointer + index)
        }
        func conv(_ name: String, _ inC: Int, _ outC: Int, stride: Int, side: Int) -> Conv2d {
            Conv2d(inChannels: inC, outChannels: outC, kernel: 3, stride: stride, padding: 1, inputHeight: side, inputWidth: side,
                   weight: p.parameter(name + ".weight"), bias: p.parameter(name + ".bias"))
        }
        func deconv(_ name: String, _ inC: Int, _ outC: Int, stride: Int, outputPadding: Int, side: Int) -> ConvTranspose2d {
            ConvTranspose2d(inChannels: inC, outChannels: outC, kernel: 3, stride: stride, padding: 1, outputPadding: outputPadding,
                            inputHeight: side, inputWidth: side,
                            weight: p.parameter(name + ".weight"), bias: p.parameter(name + ".bias"))
        }
        let slope = Architecture.leakySlope
        let features = Architecture.bottleneckFeatures
        conv1 = conv("encoder.encoder.0", 1, 32, stride: 1, side: 28)
        norm1 = norm(0, plane: 28 * 28, slope: slope)
        conv2 = conv("encoder.encoder.3", 32, 64, stride: 2, side: 28)
        norm2 = norm(1, plane: 14 * 14, slope: slope)
        conv3 = conv("encoder.encoder.6", 64, 64, stride: 2, side: 14)
        norm3 = norm(2, plane: 7 * 7, slope: slope)
        encoderLinear = Linear(inFeatures: features, outFeatures: latentDim,
                               weight: p.parameter("encoder.encoder.10.weight"), bias: p.parameter("encoder.encoder.10.bias"))
        decoderLinear = Linear(inFeatures: latentDim, outFeatures: features,
                               weight: p.parameter("decoder.decoder.0.weight"), bias: p.parameter("decoder.decoder.0.bias"))
        deconv1 = deconv("decoder.decoder.3", 64, 64, stride: 2, outputPadding: 1, side: 7)
        norm4 = norm(3, plane: 14 * 14, slope: slope)
        deconv2 = deconv("decoder.decoder.6", 64, 32, stride: 2, outputPadding: 1, side: 14)
        norm5 = norm(4, plane: 28 * 28, slope: slope)
        deconv3 = deconv("decoder.decoder.9", 32, 1, stride: 1, outputPadding: 0, side: 28)

        let n = maxBatch
        input = FloatBuffer(count: n * 784)
        conv1Out = FloatBuffer(count: 32 * n * 784); act1 = FloatBuffer(count: 32 * n * 784)
        conv2Out = FloatBuffer(count: 64 * n * 196); act2 = FloatBuffer(count: 64 * n * 196)
        conv3Out = FloatBuffer(count: 64 * n * 49); act3 = FloatBuffer(count: 64 * n * 49)
        flat = FloatBuffer(count: n * features)
        latentPre = FloatBuffer(count: n * latentDim); latent = FloatBuffer(count: n * latentDim)
        decoded = FloatBuffer(count: n * features); unflat = FloatBuffer(count: n * features)
        deconv1Out = FloatBuffer(count: 64 * n * 196); act4 = FloatBuffer(count: 64 * n * 196)
        deconv2Out = FloatBuffer(count: 32 * n * 784); act5 = FloatBuffer(count: 32 * n * 784)
        logits = FloatBuffer(count: n * 784); output = FloatBuffer(count: n * 784)
        gradA = FloatBuffer(count: 32 * n * 784); gradB = FloatBuffer(count: 32 * n * 784)
        gradLatent = FloatBuffer(count: n * latentDim)
    }

    /// The communicator BatchNorm reduces its statistics through: none in `local` mode.
    private var normCommunicator: Communicator? { batchNormStatistics == .sync ? communicator : nil }

    /// Runs `input[0..<batch]` through the model into `output` (and `latent`). Training mode
    /// normalises with batch statistics and updates the running ones; evaluation mode uses
    /// the running statistics and makes no collective call.
    ///
    /// `segments` (summing to `batch`) are the groups whose statistics are summed separately
    /// and then added in Double: a step's shard slices, which makes the result independent of
    /// the world size; they are also the units the compute threads share out (`Parallel`).
    /// Nil means one segment in training mode, and runs of 32 samples in evaluation mode.
    public func forward(batch: Int, training: Bool, segments: [Int]? = nil) throws {
        precondition(batch > 0 && batch <= maxBatch, "batch \(batch) outside 1...\(maxBatch)")
        let segments = segments ?? (training ? [batch] : Autoencoder.evaluationSegments(batch: batch))
        precondition(segments.reduce(0, +) == batch, "segments \(segments) do not add up to the batch \(batch)")
        let comm = normCommunicator
        func normalize(_ norm: BatchNorm2d, _ x: FloatBuffer, _ y: FloatBuffer) throws {
            if training {
                try norm.forwardTraining(x.pointer, output: y.pointer, segments: segments, communicator: comm)
            } else {
                norm.forwardInference(x.pointer, output: y.pointer, batch: batch)
            }
        }
        conv1.forward(input.pointer, output: conv1Out.pointer, segments: segments, scratch: threadScratch)
        try normalize(norm1, conv1Out, act1)
        conv2.forward(act1.pointer, output: conv2Out.pointer, segments: segments, scratch: threadScratch)
        try normalize(norm2, conv2Out, act2)
        conv3.forward(act2.pointer, output: conv3Out.pointer, segments: segments, scratch: threadScratch)
        try normalize(norm3, conv3Out, act3)
        Layout.channelMajorToSampleMajor(act3.pointer, into: flat.pointer, channels: 64, batch: batch, plane: 49)
        encoderLinear.forward(flat.pointer, output: latentPre.pointer, segments: segments)
        LeakyReLU.forward(latentPre.pointer, output: latent.pointer, count: batch * latentDim)

        decoderLinear.forward(latent.pointer, output: decoded.pointer, segments: segments)
        Layout.sampleMajorToChannelMajor(decoded.pointer, into: unflat.pointer, channels: 64, batch: batch, plane: 49)
        LeakyReLU.forward(unflat.pointer, output: unflat.pointer, count: batch * Architecture.bottleneckFeatures)
        deconv1.forward(unflat.pointer, output: deconv1Out.pointer, segments: segments, scratch: threadScratch)
        try normalize(norm4, deconv1Out, act4)
        deconv2.forward(act4.pointer, output: deconv2Out.pointer, segments: segments, scratch: threadScratch)
        try normalize(norm5, deconv2Out, act5)
        deconv3.forward(act5.pointer, output: logits.pointer, segments: segments, scratch: threadScratch)
        Sigmoid.forward(logits.pointer, output: output.pointer, count: batch * 784)
    }

    /// Runs of 32 samples (the last shorter): fixed, so evaluation gives the same numbers
    /// with any number of threads.
    static func evaluationSegments(batch: Int) -> [Int] {
        stride(from: 0, to: batch, by: 32).map { min(32, batch - $0) }
    }

    /// This rank's sum of squared errors between `output` and `target` (`[N][784]`).
    public func sumOfSquaredErrors(target: UnsafePointer<Float>, batch: Int) -> Double {
        MSELoss.sumOfSquares(output.pointer, target: target, count: batch * 784)
    }

    /// Backward of `mean((output - target)^2)` where the mean is over `meanOver` elements
    /// (the global batch's pixel count, so ranks with uneven batches stay exact). Writes every
    /// parameter gradient. `gradientsReady` is called with each range of `parameters.gradients`
    /// as soon as it is final, last layer first, so its all-reduce can start while backward goes on.
    /// Gradients are summed over the batch one segment at a time (see `forward`).
    public func backward(target: UnsafePointer<Float>, batch: Int, meanOver: Int, segments: [Int]? = nil,
                         gradientsReady: (Range<Int>) throws -> Void = { _ in }) throws {
        precondition(batch > 0 && batch <= maxBatch, "batch \(batch) outside 1...\(maxBatch)")
        let segments = segments ?? [batch]
        precondition(segments.reduce(0, +) == batch, "segments \(segments) do not add up to the batch \(batch)")
        let comm = normCommunicator
        let a = gradA.pointer, b = gradB.pointer
        let layout = parameters.layout
        func ready(_ name: String) throws {
            let weight = layout.range(of: name + ".weight"), bias = layout.range(of: name + ".bias")
            try gradientsReady(weight.lowerBound..<bias.upperBound)
        }
        // Each BatchNorm also sums the gradient of the bias before it (see `BatchNorm2d.backward`),
        // so those layers skip that pass.
        func normBackward(_ norm: BatchNorm2d, _ x: FloatBuffer, _ g: UnsafeMutablePointer<Float>, inputBias: Parameter?) throws {
            try norm.backward(x.pointer, gradOutput: g, gradInput: g, segments: segments, communicator: comm, inputBias: inputBias)
        }

        MSELoss.gradient(output.pointer, target: target, count: batch * 784, meanOver: meanOver, into: a)
        Sigmoid.backward(output: output.pointer, gradOutput: a, gradInput: a, count: batch * 784)
        deconv3.backward(act5.pointer, gradOutput: a, gradInput: b, segments: segments, scratch: threadScratch)
        try ready("decoder.decoder.9")
        try normBackward(norm5, deconv2Out, b, inputBias: deconv2.bias)
        try ready("decoder.decoder.7")
        deconv2.backward(act4.pointer, gradOutput: b, gradInput: a, segments: segments, scratch: threadScratch, sumBiasGradient: false)
        try ready("decoder.decoder.6")
        try normBackward(norm4, deconv1Out, a, inputBias: deconv1.bias)
        try ready("decoder.decoder.4")
        deconv1.backward(unflat.pointer, gradOutput: a, gradInput: b, segments: segments, scratch: threadScratch, sumBiasGradient: false)
        try ready("decoder.decoder.3")
        let features = batch * Architecture.bottleneckFeatures
        LeakyReLU.backward(output: unflat.pointer, gradOutput: b, gradInput: b, count: features)
        Layout.channelMajorToSampleMajor(b, into: a, channels: 64, batch: batch, plane: 49)
        decoderLinear.backward(latent.pointer, gradOutput: a, gradInput: gradLatent.pointer, segments: segments, scratch: threadScratch)
        try ready("decoder.decoder.0")

        LeakyReLU.backward(output: latent.pointer, gradOutput: gradLatent.pointer, gradInput: gradLatent.pointer, count: batch * latentDim)
        encoderLinear.backward(flat.pointer, gradOutput: gradLatent.pointer, gradInput: b, segments: segments, scratch: threadScratch)
        try ready("encoder.encoder.10")
        Layout.sampleMajorToChannelMajor(b, into: a, channels: 64, batch: batch, plane: 49)
        try normBackward(norm3, conv3Out, a, inputBias: conv3.bias)
        try ready("encoder.encoder.7")
        conv3.backward(act2.pointer, gradOutput: a, gradInput: b, segments: segments, scratch: threadScratch, sumBiasGradient: false)
        try ready("encoder.encoder.6")
        try normBackward(norm2, conv2Out, b, inputBias: conv2.bias)
        try ready("encoder.encoder.4")
        conv2.backward(act1.pointer, gradOutput: b, gradInput: a, segments: segments, scratch: threadScratch, sumBiasGradient: false)
        try ready("encoder.encoder.3")
        try normBackward(norm1, conv1Out, a, inputBias: conv1.bias)
        try ready("encoder.encoder.1")
        conv1.backward(input.pointer, gradOutput: a, gradInput: nil, segments: segments, scratch: threadScratch, sumBiasGradient: false)
        try ready("encoder.encoder.0")
    }
}
