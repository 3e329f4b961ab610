/// The autoencoder of DESIGN.md as one table: the modules of its two PyTorch `nn.Sequential`s
/// (`encoder.encoder`, `decoder.decoder`), in order. Everything else about the model is derived
/// from it: the `state_dict` keys (the module's index in its Sequential, as in PyTorch), the
/// parameter shapes and initialisation, the activation sizes, the FLOP count, the layers the
/// bench times and the order in which backward finishes the gradients.
public struct Architecture: Sendable, Equatable {
    /// One module of an `nn.Sequential`.
    public enum Module: Sendable, Equatable {
        case conv2d(out: Int, kernel: Int, stride: Int, padding: Int)
        case convTranspose2d(out: Int, kernel: Int, stride: Int, padding: Int, outputPadding: Int)
        case linear(out: Int)
        /// `nn.BatchNorm2d` over the channels of its input.
        case batchNorm2d
        case leakyReLU
        case sigmoid
        /// `[C][H][W]` to `[C*H*W]`.
        case flatten
        /// `[C*side*side]` to `[C][side][side]`.
        case unflatten(channels: Int, side: Int)
    }

    /// The model of DESIGN.md with a `latentDim`-wide code. Changing a channel count or
    /// adding a layer is a change here and nowhere else.
    public static func standard(latentDim d: Int) -> Architecture {
        Architecture(encoder: [
            .conv2d(out: 32, kernel: 3, stride: 1, padding: 1), .batchNorm2d, .leakyReLU,
            .conv2d(out: 64, kernel: 3, stride: 2, padding: 1), .batchNorm2d, .leakyReLU,
            .conv2d(out: 64, kernel: 3, stride: 2, padding: 1), .batchNorm2d, .leakyReLU,
            .flatten, .linear(out: d), .leakyReLU,
        ], decoder: [
            .linear(out: 64 * 7 * 7), .unflatten(channels: 64, side: 7), .leakyReLU,
            .convTranspose2d(out: 64, kernel: 3, stride: 2, padding: 1, outputPadding: 1), .batchNorm2d, .leakyReLU,
            .convTranspose2d(out: 32, kernel: 3, stride: 2, padding: 1, outputPadding: 1), .batchNorm2d, .leakyReLU,
            .convTranspose2d(out: 1, kernel: 3, stride: 1, padding: 1, outputPadding: 0), .sigmoid,
        ])
    }

    /// The images the model reads and writes: one 28 x 28 channel (MNIST).
    public static let imageSide = 28
    public static let imagePixels = imageSide * imageSide
    public static let leakySlope: Float = 0.01
    /// The widest latent code trained or read: wider is no longer a bottleneck, and checkpoint
    /// reading bounds what it allocates by it.
    public static let maxLatentDim = 4096

    /// The shape of one sample between two modules.
    public enum Shape: Sendable, Equatable {
        case maps(channels: Int, side: Int)
        case features(Int)

        public var count: Int {
            switch self {
            case .maps(let channels, let side): return channels * side * side
            case .features(let count): return count
            }
        }
    }

    /// A module with its `state_dict` key and the shapes it maps between.
    public struct Layer: Sendable, Equatable {
        public let module: Module
        /// `encoder.encoder.<index>` or `decoder.decoder.<index>`: the prefix of its tensors.
        public let key: String
        public let input: Shape
        public let output: Shape
    }

    /// Every module of the encoder, then of the decoder, in forward order.
    public let layers: [Layer]
    /// How many of `layers` are the encoder's: its last output is the latent code.
    public let encoderCount: Int

    /// Resolves the shapes from the image through both Sequentials; the decoder must end
    /// where the encoder began.
    public init(encoder: [Module], decoder: [Module]) {
        var shape = Shape.maps(channels: 1, side: Architecture.imageSide)
        var layers: [Layer] = []
        for (prefix, modules) in [("encoder.encoder", encoder), ("decoder.decoder", decoder)] {
            for (index, module) in modules.enumerated() {
                let output = Architecture.output(of: module, from: shape)
                layers.append(Layer(module: module, key: "\(prefix).\(index)", input: shape, output: output))
                shape = output
            }
        }
        precondition(shape == .maps(channels: 1, side: Architecture.imageSide), "the decoder must end with the image's shape, not \(shape)")
        self.layers = layers
        self.encoderCount = encoder.count
    }

    private static func output(of module: Module, from input: Shape) -> Shape {
        switch (module, input) {
        case (.conv2d(let out, let kernel, let stride, let padding), .maps(_, let side)):
            return .maps(channels: out, side: ConvGeometry.outputSize(input: side, kernel: kernel, stride: stride, padding: padding))
        case (.convTranspose2d(let out, let kernel, let stride, let padding, let outputPadding), .maps(_, let side)):
            return .maps(channels: out, side: ConvGeometry.transposedOutputSize(input: side, kernel: kernel, stride: stride,
                                                                                padding: padding, outputPadding: outputPadding))
        case (.linear(let out), .features):
            precondition(out > 0, "a Linear layer needs at least one output")
            return .features(out)
        case (.batchNorm2d, .maps), (.leakyReLU, _), (.sigmoid, _):
            return input
        case (.flatten, .maps):
            return .features(input.count)
        case (.unflatten(let channels, let side), .features(let count)):
            precondition(channels * side * side == count, "Unflatten(\(channels), \(side), \(side)) of \(count) features")
            return .maps(channels: channels, side: side)
        default:
            preconditionFailure("\(module) cannot follow a \(input)")
        }
    }

    /// The width of the latent code: the encoder's output.
    public var latentDim: Int { layers[encoderCount - 1].output.count }

    /// The Linear layer that makes the latent code (its weight's shape gives a checkpoint's latent size).
    public var latentLayer: Layer {
        guard let layer = layers[..<encoderCount].last(where: { $0.module.isLinear }) else {
            preconditionFailure("the encoder has no Linear layer")
        }
        return layer
    }

    /// The layers with a weight and a bias (convolutions and Linear layers).
    public var weightedLayers: [Layer] { layers.filter { $0.module.isWeighted } }

    /// The BatchNorm layers (key, channels) in `state_dict` order.
    public var batchNorms: [(key: String, channels: Int)] {
        layers.compactMap { layer in
            guard layer.module == .batchNorm2d, case .maps(let channels, _) = layer.input else { return nil }
            return (layer.key, channels)
        }
    }
}

extension Architecture.Module {
    /// Convolutions and Linear layers: a weight and a bias.
    public var isWeighted: Bool {
        switch self {
        case .conv2d, .convTranspose2d, .linear: return true
        default: return false
        }
    }

    public var isConvolution: Bool {
        if case .conv2d = self { return true } else { return false }
    }

    public var isTransposedConvolution: Bool {
        if case .convTranspose2d = self { return true } else { return false }
    }

    var isLinear: Bool {
        if case .linear = self { return true } else { return false }
    }
}
