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
    /// where the encoder began. For tables written in code: a wrong one is a programming error.
    public init(encoder: [Module], decoder: [Module]) {
        switch Result(catching: { try Architecture.resolve(encoder: encoder, decoder: decoder) }) {
        case .success(let layers): (self.layers, self.encoderCount) = (layers, encoder.count)
        case .failure(let error): preconditionFailure("\(error)")
        }
    }

    /// The same for a table read from a file (a checkpoint's metadata): each way it can be
    /// wrong, or too large to build, is an `ArchitectureError`.
    public init(checking encoder: [Module], decoder: [Module]) throws(ArchitectureError) {
        layers = try Architecture.resolve(encoder: encoder, decoder: decoder)
        encoderCount = encoder.count
    }

    /// The largest activation, in values per image, and the most parameters a model may have:
    /// bounds on what a table read from a file can make the program allocate.
    public static let maxActivation = 1 << 20
    public static let maxParameters = 1 << 26

    private static func resolve(encoder: [Module], decoder: [Module]) throws(ArchitectureError) -> [Layer] {
        var shape = Shape.maps(channels: 1, side: Architecture.imageSide)
        var layers: [Layer] = []
        var parameters = 0
        for (prefix, modules) in [("encoder.encoder", encoder), ("decoder.decoder", decoder)] {
            for (index, module) in modules.enumerated() {
                let key = "\(prefix).\(index)"
                let output = try Architecture.output(of: module, from: shape, key: key)
                guard output.count <= maxActivation else { throw ArchitectureError("\(key) makes \(output.count) values per image, more than \(maxActivation)") }
                let layer = Layer(module: module, key: key, input: shape, output: output)
                parameters += Architecture.parameterCount(module, input: shape)
                guard parameters <= maxParameters else { throw ArchitectureError("more than \(maxParameters) parameters by \(key)") }
                layers.append(layer)
                shape = output
            }
        }
        guard shape == .maps(channels: 1, side: Architecture.imageSide) else {
            throw ArchitectureError("the decoder must end with the image's shape (1 x \(imageSide) x \(imageSide)), not \(shape)")
        }
        guard layers[..<encoder.count].contains(where: { $0.module.isLinear }), case .features = layers[encoder.count - 1].output else {
            throw ArchitectureError("the encoder must end in a latent code made by a Linear layer")
        }
        return layers
    }

    /// Weights and biases of `module` on `input` (as `parameters` lays them out).
    private static func parameterCount(_ module: Module, input: Shape) -> Int {
        switch (module, input) {
        case (.conv2d(let out, let k, _, _), .maps(let inp, _)), (.convTranspose2d(let out, let k, _, _, _), .maps(let inp, _)):
            return out * inp * k * k + out
        case (.linear(let out), .features(let inp)): return out * inp + out
        case (.batchNorm2d, .maps(let channels, _)): return 2 * channels
        default: return 0
        }
    }

    private static func output(of module: Module, from input: Shape, key: String) throws(ArchitectureError) -> Shape {
        func check(_ condition: Bool, _ what: String) throws(ArchitectureError) {
            if !condition { throw ArchitectureError("\(key) (\(module.text)): \(what)") }
        }
        switch (module, input) {
        case (.conv2d(let out, let kernel, let stride, let padding), .maps(_, let side)):
            try check((1...4096).contains(out) && (1...7).contains(kernel) && (1...4).contains(stride) && (0..<kernel).contains(padding),
                      "channels 1-4096, kernel 1-7, stride 1-4, padding below the kernel")
            let size = ConvGeometry.outputSize(input: side, kernel: kernel, stride: stride, padding: padding)
            try check(size >= 1, "no output from a \(side) x \(side) input")
            return .maps(channels: out, side: size)
        case (.convTranspose2d(let out, let kernel, let stride, let padding, let outputPadding), .maps(_, let side)):
            try check((1...4096).contains(out) && (1...7).contains(kernel) && (1...4).contains(stride) && (0..<kernel).contains(padding)
                      && (0..<stride).contains(outputPadding), "channels 1-4096, kernel 1-7, stride 1-4, padding below the kernel, output padding below the stride")
            let size = ConvGeometry.transposedOutputSize(input: side, kernel: kernel, stride: stride, padding: padding, outputPadding: outputPadding)
            try check((1...4 * imageSide).contains(size), "output side \(size)")
            return .maps(channels: out, side: size)
        case (.linear(let out), .features):
            try check((1...maxActivation).contains(out), "a Linear layer needs 1 to \(maxActivation) outputs")
            return .features(out)
        case (.batchNorm2d, .maps), (.leakyReLU, _), (.sigmoid, _):
            return input
        case (.flatten, .maps):
            return .features(input.count)
        case (.unflatten(let channels, let side), .features(let count)):
            try check(channels >= 1 && side >= 1 && channels <= count && side <= count && channels * side * side == count,
                      "Unflatten(\(channels), \(side), \(side)) of \(count) features")
            return .maps(channels: channels, side: side)
        default:
            throw ArchitectureError("\(key) (\(module.text)) cannot follow \(input)")
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
