/// What the table of `Architecture` implies for tensors and arithmetic.
extension Architecture {
    /// Trainable tensors in `state_dict` (and `model.parameters()`) order, with PyTorch's
    /// default initialisation.
    public var parameters: [TensorSpec] {
        layers.flatMap { layer -> [TensorSpec] in
            switch (layer.module, layer.input, layer.output) {
            case (.conv2d(let out, let k, _, _), .maps(let inp, _), _):
                return Architecture.weightAndBias(layer.key, shape: [out, inp, k, k], biasCount: out, fanIn: inp * k * k)
            case (.convTranspose2d(let out, let k, _, _, _), .maps(let inp, _), _):
                // PyTorch reads fan_in from dim 1 of the weight, which is `out` for a transposed convolution.
                return Architecture.weightAndBias(layer.key, shape: [inp, out, k, k], biasCount: out, fanIn: out * k * k)
            case (.linear(let out), .features(let inp), _):
                return Architecture.weightAndBias(layer.key, shape: [out, inp], biasCount: out, fanIn: inp)
            case (.batchNorm2d, .maps(let channels, _), _):
                return [TensorSpec(name: layer.key + ".weight", shape: [channels], initializer: .constant(1)),
                        TensorSpec(name: layer.key + ".bias", shape: [channels], initializer: .constant(0))]
            default:
                return []
            }
        }
    }

    /// BatchNorm running statistics in `state_dict` order (the int64 `num_batches_tracked`
    /// counters are kept apart, see `BatchNormState`).
    public var runningStatistics: [TensorSpec] {
        batchNorms.flatMap { bn in
            [TensorSpec(name: bn.key + ".running_mean", shape: [bn.channels], initializer: .constant(0)),
             TensorSpec(name: bn.key + ".running_var", shape: [bn.channels], initializer: .constant(1))]
        }
    }

    private static func weightAndBias(_ key: String, shape: [Int], biasCount: Int, fanIn: Int) -> [TensorSpec] {
        let bound = 1 / Float(fanIn).squareRoot()
        return [TensorSpec(name: key + ".weight", shape: shape, initializer: .uniform(bound: bound)),
                TensorSpec(name: key + ".bias", shape: [biasCount], initializer: .uniform(bound: bound))]
    }

    /// Multiply-adds of one image's forward pass through `layer` (zero for the layers without weights).
    public static func multiplyAdds(of layer: Layer) -> Int {
        switch (layer.module, layer.input, layer.output) {
        case (.conv2d(let out, let k, _, _), .maps(let inp, _), .maps(_, let side)):
            return out * inp * k * k * side * side
        case (.convTranspose2d(let out, let k, _, _, _), .maps(let inp, let side), _):
            return inp * out * k * k * side * side
        case (.linear, .features(let inp), .features(let out)):
            return inp * out
        default:
            return 0
        }
    }

    /// Multiply-adds of one image's forward pass (about 11.3 M at latent 2).
    public var forwardMultiplyAdds: Int { layers.reduce(0) { $0 + Architecture.multiplyAdds(of: $1) } }

    /// FLOPs of a training step per image: forward, weight gradients and input gradients
    /// (none for the first layer, whose input is the image), 2 FLOPs per multiply-add.
    public var trainingFLOPsPerImage: Int {
        let first = weightedLayers.first.map(Architecture.multiplyAdds(of:)) ?? 0
        return 2 * (3 * forwardMultiplyAdds - first)
    }
}
