/// An architecture that cannot be built: what is wrong, naming the module.
public struct ArchitectureError: Error, CustomStringConvertible, Equatable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// The table as text, one line per Sequential, so every checkpoint records the model it holds
/// (`architecture.encoder`, `architecture.decoder` in its metadata) and loading rebuilds that
/// model: `conv2d 32 3 1 1, batchnorm2d, leakyrelu, ..., flatten, linear 2, leakyrelu`.
extension Architecture {
    public static let encoderKey = "architecture.encoder"
    public static let decoderKey = "architecture.decoder"

    /// The metadata entries that record this architecture.
    public var metadata: [String: String] {
        [Architecture.encoderKey: modules(layers[..<encoderCount]), Architecture.decoderKey: modules(layers[encoderCount...])]
    }

    private func modules(_ layers: ArraySlice<Layer>) -> String { layers.map(\.module.text).joined(separator: ", ") }

    /// The architecture a checkpoint's metadata records; nil when it records none (files
    /// written before the architecture was recorded hold the standard model).
    public init?(metadata: [String: String]) throws(ArchitectureError) {
        guard let encoder = metadata[Architecture.encoderKey], let decoder = metadata[Architecture.decoderKey] else {
            if metadata[Architecture.encoderKey] != nil || metadata[Architecture.decoderKey] != nil {
                throw ArchitectureError("the metadata records only one of \(Architecture.encoderKey) and \(Architecture.decoderKey)")
            }
            return nil
        }
        func parse(_ text: String) throws(ArchitectureError) -> [Module] {
            // 256 modules: far more than any model here, and a bound on what a file can ask for.
            let items = text.split(separator: ",", maxSplits: 256)
            guard items.count <= 256 else { throw ArchitectureError("more than 256 modules in one Sequential") }
            var modules: [Module] = []
            for item in items {
                guard let module = Module(text: String(item)) else { throw ArchitectureError("'\(item.prefix(60))' is not a module this program builds") }
                modules.append(module)
            }
            return modules
        }
        let encoderModules = try parse(encoder), decoderModules = try parse(decoder)
        guard !encoderModules.isEmpty, !decoderModules.isEmpty else { throw ArchitectureError("an empty Sequential") }
        try self.init(checking: encoderModules, decoder: decoderModules)
    }
}

extension Architecture.Module {
    /// `conv2d OUT KERNEL STRIDE PADDING`, `convtranspose2d OUT KERNEL STRIDE PADDING OUTPUT_PADDING`,
    /// `linear OUT`, `unflatten CHANNELS SIDE`, `batchnorm2d`, `leakyrelu`, `sigmoid`, `flatten`.
    public var text: String {
        switch self {
        case .conv2d(let out, let kernel, let stride, let padding): return "conv2d \(out) \(kernel) \(stride) \(padding)"
        case .convTranspose2d(let out, let kernel, let stride, let padding, let outputPadding):
            return "convtranspose2d \(out) \(kernel) \(stride) \(padding) \(outputPadding)"
        case .linear(let out): return "linear \(out)"
        case .unflatten(let channels, let side): return "unflatten \(channels) \(side)"
        case .batchNorm2d: return "batchnorm2d"
        case .leakyReLU: return "leakyrelu"
        case .sigmoid: return "sigmoid"
        case .flatten: return "flatten"
        }
    }

    /// The module `text` writes; nil for anything else (numbers past 7 digits included).
    public init?(text: String) {
        let words = text.split(separator: " ")
        guard let name = words.first, words.count <= 6 else { return nil }
        let numbers = words.dropFirst().compactMap { $0.count <= 7 ? Int($0) : nil }
        guard numbers.count == words.count - 1, numbers.allSatisfy({ $0 >= 0 }) else { return nil }
        switch (name, numbers.count) {
        case ("conv2d", 4): self = .conv2d(out: numbers[0], kernel: numbers[1], stride: numbers[2], padding: numbers[3])
        case ("convtranspose2d", 5):
            self = .convTranspose2d(out: numbers[0], kernel: numbers[1], stride: numbers[2], padding: numbers[3], outputPadding: numbers[4])
        case ("linear", 1): self = .linear(out: numbers[0])
        case ("unflatten", 2): self = .unflatten(channels: numbers[0], side: numbers[1])
        case ("batchnorm2d", 0): self = .batchNorm2d
        case ("leakyrelu", 0): self = .leakyReLU
        case ("sigmoid", 0): self = .sigmoid
        case ("flatten", 0): self = .flatten
        default: return nil
        }
    }
}
