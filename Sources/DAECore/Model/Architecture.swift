/// The autoencoder of DESIGN.md as data: each trainable tensor under its PyTorch
/// `state_dict` key, in `state_dict` order, with PyTorch's default initialisation.
///
///     encoder.encoder   0 Conv2d(1, 32, 3, s1, p1)   1 BN(32)  LReLU
///                       3 Conv2d(32, 64, 3, s2, p1)  4 BN(64)  LReLU
///                       6 Conv2d(64, 64, 3, s2, p1)  7 BN(64)  LReLU  Flatten
///                      10 Linear(3136, d)                      LReLU
///     decoder.decoder   0 Linear(d, 3136)  Unflatten(64, 7, 7)  LReLU
///                       3 ConvT(64, 64, 3, s2, p1, op1)  4 BN(64)  LReLU
///                       6 ConvT(64, 32, 3, s2, p1, op1)  7 BN(32)  LReLU
///                       9 ConvT(32, 1, 3, s1, p1)                 Sigmoid
public enum Architecture {
    public static let imageSide = 28
    public static let imagePixels = 28 * 28
    /// The 64 x 7 x 7 feature map between the convolutions and the linear layers.
    public static let bottleneckChannels = 64
    public static let bottleneckSide = 7
    public static let bottleneckFeatures = 64 * 7 * 7
    public static let leakySlope: Float = 0.01

    /// Multiply-adds of one image's forward pass through the convolutions and linear layers
    /// (about 11.3 M at latent 2), and the FLOPs of a whole training step per image: forward,
    /// weight gradients and input gradients (none for the first convolution), 2 FLOPs each.
    public static func forwardMultiplyAdds(latentDim d: Int) -> Int {
        let conv1 = 32 * 9 * 784, conv2 = 64 * 288 * 196, conv3 = 64 * 576 * 49
        let deconv1 = 64 * 576 * 49, deconv2 = 64 * 288 * 196, deconv3 = 32 * 9 * 784
        return conv1 + conv2 + conv3 + 2 * bottleneckFeatures * d + deconv1 + deconv2 + deconv3
    }

    public static func trainingFLOPsPerImage(latentDim d: Int) -> Int {
        2 * (3 * forwardMultiplyAdds(latentDim: d) - 32 * 9 * 784)
    }

    /// BatchNorm layers (prefix, channels) in `state_dict` order.
    public static let batchNorms: [(name: String, channels: Int)] = [
        ("encoder.encoder.1", 32), ("encoder.encoder.4", 64), ("encoder.encoder.7", 64),
        ("decoder.decoder.4", 64), ("decoder.decoder.7", 32),
    ]

    /// Trainable tensors in `state_dict` (and `model.parameters()`) order.
    public static func parameters(latentDim d: Int) -> [TensorSpec] {
        precondition(d > 0, "latent size must be positive")
        var specs: [TensorSpec] = []
        func conv(_ name: String, _ out: Int, _ inp: Int) {  // weight [out, in, 3, 3], fan_in = in * 9
            specs += weightAndBias(name, shape: [out, inp, 3, 3], biasCount: out, fanIn: inp * 9)
        }
        func convTranspose(_ name: String, _ inp: Int, _ out: Int) {  // weight [in, out, 3, 3], fan_in = out * 9 (PyTorch reads dim 1)
            specs += weightAndBias(name, shape: [inp, out, 3, 3], biasCount: out, fanIn: out * 9)
        }
        func linear(_ name: String, _ inp: Int, _ out: Int) {
            specs += weightAndBias(name, shape: [out, inp], biasCount: out, fanIn: inp)
        }
        func batchNorm(_ name: String, _ channels: Int) {
            specs.append(TensorSpec(name: name + ".weight", shape: [channels], initializer: .constant(1)))
            specs.append(TensorSpec(name: name + ".bias", shape: [channels], initializer: .constant(0)))
        }
        conv("encoder.encoder.0", 32, 1)
        batchNorm("encoder.encoder.1", 32)
        conv("encoder.encoder.3", 64, 32)
        batchNorm("encoder.encoder.4", 64)
        conv("encoder.encoder.6", 64, 64)
        batchNorm("encoder.encoder.7", 64)
        linear("encoder.encoder.10", bottleneckFeatures, d)
        linear("decoder.decoder.0", d, bottleneckFeatures)
        convTranspose("decoder.decoder.3", 64, 64)
        batchNorm("decoder.decoder.4", 64)
        convTranspose("decoder.decoder.6", 64, 32)
        batchNorm("decoder.decoder.7", 32)
        convTranspose("decoder.decoder.9", 32, 1)
        return specs
    }

    /// BatchNorm running statistics in `state_dict` order (the int64 `num_batches_tracked`
    /// counters are kept apart, see `BatchNormState`).
    public static func runningStatistics() -> [TensorSpec] {
        batchNorms.flatMap { bn in
            [TensorSpec(name: bn.name + ".running_mean", shape: [bn.channels], initializer: .constant(0)),
             TensorSpec(name: bn.name + ".running_var", shape: [bn.channels], initializer: .constant(1))]
        }
    }

    private static func weightAndBias(_ name: String, shape: [Int], biasCount: Int, fanIn: Int) -> [TensorSpec] {
        let bound = 1 / Float(fanIn).squareRoot()
        return [TensorSpec(name: name + ".weight", shape: shape, initializer: .uniform(bound: bound)),
                TensorSpec(name: name + ".bias", shape: [biasCount], initializer: .uniform(bound: bound))]
    }
}
