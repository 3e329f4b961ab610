/// The convolutional denoising autoencoder of DESIGN.md: its layers, its parameters in one
/// buffer, and every activation and workspace for batches up to `maxBatch`, allocated once.
///
/// One step: write the (noisy) images into `input`, call `forward`, then `backward` with the
/// clean targets; parameter gradients are then in `parameters.gradients`. Activations are
/// channel-major (`[C][N][H][W]`) between convolutions and sample-major (`[N][features]`)
/// around the linear layers.
public final class Autoencoder {
    public let architecture: Architecture
    public let latentDim: Int
    public let maxBatch: Int
    public let batchNormStatistics: BatchNormStatistics
    public let parameters: ParameterSet
    public let batchNormState: BatchNormState

    /// The images fed to `forward`, `[N][1][28][28]`.
    public let input: FloatBuffer
    /// The reconstructions, `[N][1][28][28]`, after `forward`.
    public let output: FloatBuffer
    /// The latent codes `[N][d]` (after the encoder's last activation), after `forward`.
    public let latent: FloatBuffer

    /// The layers in forward order, each with its activation buffers (see `Stage`).
    let stages: [Stage]
    /// The stage whose output is `latent`: the encoder's last.
    let latentStage: Int
    /// Backward's two ping-pong gradient buffers, each as large as the largest activation.
    let gradA: FloatBuffer, gradB: FloatBuffer
    /// Per-thread weight-gradient partials and one shard slice's im2col (see `ThreadScratch`).
    let threadScratch = ThreadScratch()

    /// The model of DESIGN.md (`Architecture.standard`) with a `latentDim`-wide code.
    public convenience init(latentDim: Int, maxBatch: Int, batchNormStatistics: BatchNormStatistics = .sync, seed: UInt64 = 0) {
        precondition(latentDim > 0, "latent size must be positive")
        self.init(architecture: .standard(latentDim: latentDim), maxBatch: maxBatch, batchNormStatistics: batchNormStatistics, seed: seed)
    }

    public init(architecture: Architecture, maxBatch: Int, batchNormStatistics: BatchNormStatistics = .sync, seed: UInt64 = 0) {
        precondition(maxBatch > 0, "batch must be positive")
        self.architecture = architecture
        self.latentDim = architecture.latentDim
        self.maxBatch = maxBatch
        self.batchNormStatistics = batchNormStatistics
        parameters = ParameterSet(architecture.parameters)
        batchNormState = BatchNormState(architecture.runningStatistics, layers: architecture.batchNorms.count)
        parameters.initialize(seed: seed)
        input = FloatBuffer(count: maxBatch * Architecture.imagePixels)
        let (stages, latentStage) = Stage.build(architecture, input: input, maxBatch: maxBatch, parameters: parameters,
                                                batchNormState: batchNormState)
        self.stages = stages
        self.latentStage = latentStage
        output = stages[stages.count - 1].output
        latent = stages[latentStage].output
        let largest = architecture.layers.map(\.output.count).max() ?? 0
        gradA = FloatBuffer(count: maxBatch * largest)
        gradB = FloatBuffer(count: maxBatch * largest)
    }

    /// The communicator BatchNorm reduces its statistics through: the step's in `sync` mode,
    /// none in `local` mode (each rank its own batch).
    private func normCommunicator(_ communicator: Communicator?) -> Communicator? {
        batchNormStatistics == .sync ? communicator : nil
    }

    /// Runs `input[0..<batch]` through the model into `output` (and `latent`). Training mode
    /// normalises with batch statistics and updates the running ones; evaluation mode uses
    /// the running statistics and makes no collective call.
    ///
    /// `slices` (summing to `batch`) are the groups whose statistics are summed separately
    /// and then added in Double: a step's shard slices, which makes the result independent of
    /// the world size; they are also the units the compute threads share out (`Parallel`).
    /// Nil means one slice in training mode, and runs of `evaluationRun` samples in evaluation mode.
    /// `communicator` (training mode, `sync` BatchNorm) sums the statistics over the ranks' batches;
    /// nil: this process's batch is the whole batch.
    public func forward(batch: Int, training: Bool, slices: [Int]? = nil, communicator: Communicator? = nil) throws {
        precondition(batch > 0 && batch <= maxBatch, "batch \(batch) outside 1...\(maxBatch)")
        let slices = slices ?? (training ? [batch] : Autoencoder.evaluationSlices(batch: batch))
        precondition(slices.reduce(0, +) == batch, "slices \(slices) do not add up to the batch \(batch)")
        try run(stages[...], batch: batch, training: training, slices: slices, communicator: normCommunicator(communicator))
    }

    /// The decoder alone, in evaluation mode: `latent[0..<batch]` (written by the caller)
    /// into `output`. What a point of the latent space looks like.
    public func decode(batch: Int) {
        precondition(batch > 0 && batch <= maxBatch, "batch \(batch) outside 1...\(maxBatch)")
        try? run(stages[(latentStage + 1)...], batch: batch, training: false, slices: Autoencoder.evaluationSlices(batch: batch),
                 communicator: nil)  // no collectives
    }

    private func run(_ stages: ArraySlice<Stage>, batch: Int, training: Bool, slices: [Int], communicator: Communicator?) throws {
        for stage in stages {
            let x = stage.input.pointer, y = stage.output.pointer
            switch stage.operation {
            case .conv(let layer, _):
                layer.forward(x, output: y, slices: slices, scratch: threadScratch)
            case .convTranspose(let layer, _):
                layer.forward(x, output: y, slices: slices, scratch: threadScratch)
            case .linear(let layer):
                layer.forward(x, output: y, slices: slices)
            case .batchNorm(let norm, _) where training:
                try norm.forwardTraining(x, output: y, slices: slices, communicator: communicator)
            case .batchNorm(let norm, _):
                norm.forwardInference(x, output: y, batch: batch)
            case .leakyReLU:
                LeakyReLU.forward(x, output: y, count: batch * stage.outputCount, slope: Architecture.leakySlope)
            case .sigmoid:
                Sigmoid.forward(x, output: y, count: batch * stage.outputCount)
            case .toSampleMajor(let channels, let plane):
                Layout.channelMajorToSampleMajor(x, into: y, channels: channels, batch: batch, plane: plane)
            case .toChannelMajor(let channels, let plane):
                Layout.sampleMajorToChannelMajor(x, into: y, channels: channels, batch: batch, plane: plane)
            }
        }
    }

    /// Images per slice in evaluation mode. An image's numbers depend on the slice it is
    /// multiplied in, so evaluating in batches that are multiples of this, from the same first
    /// image, gives the same numbers however the images are batched or shared out.
    public static let evaluationRun = 32

    /// Runs of `evaluationRun` samples (the last shorter): fixed, so evaluation gives the same
    /// numbers with any number of threads.
    static func evaluationSlices(batch: Int) -> [Int] {
        stride(from: 0, to: batch, by: evaluationRun).map { min(evaluationRun, batch - $0) }
    }

    /// This rank's sum of squared errors between `output` and `target` (`[N][784]`).
    public func sumOfSquaredErrors(target: UnsafePointer<Float>, batch: Int) -> Double {
        MSELoss.sumOfSquares(output.pointer, target: target, count: batch * Architecture.imagePixels)
    }

    /// Backward of `mean((output - target)^2)` where the mean is over `meanOver` elements
    /// (the global batch's pixel count, so ranks with uneven batches stay exact). Writes every
    /// parameter's gradient sum (`parameters.gradientSums`, summed over the batch one slice at
    /// a time, see `forward`); `parameters.finishGradients` then makes the Float gradients.
    /// `gradientsReady` is called with each layer's range of the sums as soon as it is final,
    /// last layer first, so its all-reduce can start while backward goes on. `communicator`: as
    /// in `forward`.
    public func backward(target: UnsafePointer<Float>, batch: Int, meanOver: Int, slices: [Int]? = nil, communicator: Communicator? = nil,
                         gradientsReady: (Range<Int>) throws -> Void = { _ in }) throws {
        precondition(batch > 0 && batch <= maxBatch, "batch \(batch) outside 1...\(maxBatch)")
        let slices = slices ?? [batch]
        precondition(slices.reduce(0, +) == batch, "slices \(slices) do not add up to the batch \(batch)")
        let comm = normCommunicator(communicator)
        var gradient = gradA.pointer, spare = gradB.pointer
        MSELoss.gradient(output.pointer, target: target, count: batch * Architecture.imagePixels, meanOver: meanOver, into: gradient)
        for (index, stage) in stages.enumerated().reversed() {
            let x = stage.input.pointer, count = batch * stage.outputCount
            // The gradient of this stage's input: none is needed for the image.
            let gradInput = index == 0 ? nil : spare
            switch stage.operation {
            case .conv(let layer, let biasFromNorm):
                layer.backward(x, gradOutput: gradient, gradInput: gradInput, slices: slices, scratch: threadScratch,
                               sumBiasGradient: !biasFromNorm)
                swap(&gradient, &spare)
            case .convTranspose(let layer, let biasFromNorm):
                layer.backward(x, gradOutput: gradient, gradInput: gradInput, slices: slices, scratch: threadScratch,
                               sumBiasGradient: !biasFromNorm)
                swap(&gradient, &spare)
            case .linear(let layer):
                layer.backward(x, gradOutput: gradient, gradInput: gradInput, slices: slices, scratch: threadScratch)
                swap(&gradient, &spare)
            case .batchNorm(let norm, let inputBias):
                try norm.backward(x, gradOutput: gradient, gradInput: gradient, slices: slices, communicator: comm, inputBias: inputBias)
            case .leakyReLU:
                LeakyReLU.backward(output: stage.output.pointer, gradOutput: gradient, gradInput: gradient, count: count,
                                   slope: Architecture.leakySlope)
            case .sigmoid:
                Sigmoid.backward(output: stage.output.pointer, gradOutput: gradient, gradInput: gradient, count: count)
            case .toSampleMajor(let channels, let plane):
                Layout.sampleMajorToChannelMajor(gradient, into: spare, channels: channels, batch: batch, plane: plane)
                swap(&gradient, &spare)
            case .toChannelMajor(let channels, let plane):
                Layout.channelMajorToSampleMajor(gradient, into: spare, channels: channels, batch: batch, plane: plane)
                swap(&gradient, &spare)
            }
            if let range = stage.parameters { try gradientsReady(range) }
        }
    }
}
