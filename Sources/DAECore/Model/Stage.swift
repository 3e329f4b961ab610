/// One step of the model's forward pass, made from a row of `Architecture` (or two: a
/// BatchNorm takes the LeakyReLU after it into its own pass), with the buffers it reads and
/// writes. `Autoencoder.forward` runs the stages in order and `backward` in reverse.
struct Stage {
    enum Operation {
        /// `biasFromNorm`: the BatchNorm after this layer sums its bias gradient (see `BatchNorm2d.backward`).
        case conv(Conv2d, biasFromNorm: Bool)
        case convTranspose(ConvTranspose2d, biasFromNorm: Bool)
        case linear(Linear)
        /// `inputBias`: the bias of the layer before, whose gradient this layer's backward sums.
        case batchNorm(BatchNorm2d, inputBias: Parameter?)
        case leakyReLU
        case sigmoid
        /// Flatten: channel-major `[C][N][plane]` to sample-major `[N][C*plane]`.
        case toSampleMajor(channels: Int, plane: Int)
        /// Unflatten: sample-major to channel-major.
        case toChannelMajor(channels: Int, plane: Int)
    }

    let operation: Operation
    /// What the stage reads; its backward reads it again (for the weighted layers and BatchNorm).
    let input: FloatBuffer
    /// What the stage writes: `input` itself for the element-wise activations, which need only
    /// their output in backward.
    let output: FloatBuffer
    /// Values per sample of `output`.
    let outputCount: Int
    /// The stage's parameters in the parameter buffer: final once its backward has run.
    let parameters: Range<Int>?

    /// The stages of `architecture`, with every activation buffer sized for `maxBatch` samples.
    /// `input` is the model's input buffer. Returns the stages and which one's output is the latent code.
    static func build(_ architecture: Architecture, input: FloatBuffer, maxBatch: Int, parameters: ParameterSet,
                      batchNormState: BatchNormState) -> (stages: [Stage], latentStage: Int) {
        var stages: [Stage] = []
        var current = input
        var latentStage = 0
        var batchNorms = 0
        let layers = architecture.layers
        var i = 0
        while i < layers.count {
            let layer = layers[i]
            let followedByNorm = i + 1 < layers.count && layers[i + 1].module == .batchNorm2d
            // Not across the encoder's end: the latent code is the encoder's last output.
            let fusesActivation = layer.module == .batchNorm2d && i + 1 < layers.count && i + 1 != architecture.encoderCount
                && layers[i + 1].module == .leakyReLU
            let operation = makeOperation(layer, followedByNorm: followedByNorm, fusesActivation: fusesActivation, previous: stages.last,
                                          parameters: parameters, batchNormState: batchNormState, batchNormIndex: batchNorms)
            if layer.module == .batchNorm2d { batchNorms += 1 }
            let output: FloatBuffer
            switch operation {
            case .leakyReLU, .sigmoid: output = current
            default: output = FloatBuffer(count: maxBatch * layer.output.count)
            }
            let range = layer.module.isWeighted || layer.module == .batchNorm2d
                ? parameters.layout.range(of: layer.key + ".weight").lowerBound..<parameters.layout.range(of: layer.key + ".bias").upperBound
                : nil
            stages.append(Stage(operation: operation, input: current, output: output, outputCount: layer.output.count, parameters: range))
            current = output
            i += fusesActivation ? 2 : 1
            if i == architecture.encoderCount { latentStage = stages.count - 1 }
        }
        return (stages, latentStage)
    }

    private static func makeOperation(_ layer: Architecture.Layer, followedByNorm: Bool, fusesActivation: Bool, previous: Stage?,
                                      parameters: ParameterSet, batchNormState: BatchNormState, batchNormIndex: Int) -> Operation {
        let key = layer.key
        func parameter(_ name: String) -> Parameter { parameters.parameter(key + "." + name) }
        switch (layer.module, layer.input, layer.output) {
        case (.conv2d, _, _):
            return .conv(Conv2d(layer, weight: parameter("weight"), bias: parameter("bias")), biasFromNorm: followedByNorm)
        case (.convTranspose2d, _, _):
            return .convTranspose(ConvTranspose2d(layer, weight: parameter("weight"), bias: parameter("bias")), biasFromNorm: followedByNorm)
        case (.linear(let out), .features(let inp), _):
            return .linear(Linear(inFeatures: inp, outFeatures: out, weight: parameter("weight"), bias: parameter("bias")))
        case (.batchNorm2d, .maps(let channels, let side), _):
            let norm = BatchNorm2d(channels: channels, plane: side * side, negativeSlope: fusesActivation ? Architecture.leakySlope : nil,
                                   weight: parameter("weight"), bias: parameter("bias"),
                                   runningMean: batchNormState.pointer(key + ".running_mean"),
                                   runningVar: batchNormState.pointer(key + ".running_var"),
                                   batchesTracked: batchNormState.batchesTracked.pointer + batchNormIndex)
            return .batchNorm(norm, inputBias: previous?.bias)
        case (.leakyReLU, _, _):
            return .leakyReLU
        case (.sigmoid, _, _):
            return .sigmoid
        case (.flatten, .maps(let channels, let side), _):
            return .toSampleMajor(channels: channels, plane: side * side)
        case (.unflatten(let channels, let side), _, _):
            return .toChannelMajor(channels: channels, plane: side * side)
        default:
            preconditionFailure("no stage for \(layer.module) on \(layer.input)")
        }
    }

    /// The bias of a convolution whose BatchNorm sums it (nil for every other stage).
    private var bias: Parameter? {
        switch operation {
        case .conv(let layer, true): return layer.bias
        case .convTranspose(let layer, true): return layer.bias
        default: return nil
        }
    }
}

extension Conv2d {
    /// The convolution of a `.conv2d` row of `Architecture`.
    public init(_ layer: Architecture.Layer, weight: Parameter, bias: Parameter) {
        guard case .conv2d(let out, let kernel, let stride, let padding) = layer.module, case .maps(let inp, let side) = layer.input else {
            preconditionFailure("\(layer.key) is not a convolution")
        }
        self.init(inChannels: inp, outChannels: out, kernel: kernel, stride: stride, padding: padding,
                  inputHeight: side, inputWidth: side, weight: weight, bias: bias)
    }
}

extension ConvTranspose2d {
    /// The transposed convolution of a `.convTranspose2d` row of `Architecture`.
    public init(_ layer: Architecture.Layer, weight: Parameter, bias: Parameter) {
        guard case .convTranspose2d(let out, let kernel, let stride, let padding, let outputPadding) = layer.module,
              case .maps(let inp, let side) = layer.input else {
            preconditionFailure("\(layer.key) is not a transposed convolution")
        }
        self.init(inChannels: inp, outChannels: out, kernel: kernel, stride: stride, padding: padding, outputPadding: outputPadding,
                  inputHeight: side, inputWidth: side, weight: weight, bias: bias)
    }
}
