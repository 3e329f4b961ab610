/// All trainable tensors in one contiguous buffer and all their gradients in another, with
/// the same layout (as llm.c does): one all-reduce, one optimizer loop, one checkpoint write.
public final class ParameterSet {
    public let layout: TensorLayout
    public let values: FloatBuffer
    public let gradients: FloatBuffer
    /// The gradients as Double sums over batch slices and ranks: their truth (see `Parameter`).
    /// `gradients` holds their Float values after `finishGradients`.
    public let gradientSums: DoubleBuffer

    public init(_ specs: [TensorSpec]) {
        layout = TensorLayout(specs)
        values = FloatBuffer(count: layout.totalCount)
        gradients = FloatBuffer(count: layout.totalCount)
        gradientSums = DoubleBuffer(count: layout.totalCount)
    }

    public var count: Int { layout.totalCount }

    /// `gradients = Float(gradientSums)`: the one place the Float gradients are made, once
    /// the sums are final (after backward, and after their all-reduce across ranks).
    public func finishGradients() {
        let (sums, floats) = (gradientSums.pointer, gradients.pointer)
        for i in 0..<count { floats[i] = Float(sums[i]) }
    }

    public func parameter(_ name: String) -> Parameter {
        let range = layout.range(of: name)
        return Parameter(value: values.pointer + range.lowerBound, gradient: gradients.pointer + range.lowerBound,
                         gradientSum: gradientSums.pointer + range.lowerBound, count: range.count)
    }

    public func value(_ name: String) -> TensorView { view(name, in: values) }
    public func gradient(_ name: String) -> TensorView { view(name, in: gradients) }

    private func view(_ name: String, in buffer: FloatBuffer) -> TensorView {
        let range = layout.range(of: name)
        let spec = layout.specs[layout.index(of: name)!]
        return TensorView(name: name, shape: spec.shape, pointer: buffer.pointer + range.lowerBound, offset: range.lowerBound)
    }

    /// PyTorch's default initialisation, deterministic from `seed`: tensor `i` draws from its
    /// own SplitMix64 stream, so adding a tensor never shifts the values of the others.
    public func initialize(seed: UInt64) {
        for (i, spec) in layout.specs.enumerated() {
            let start = values.pointer + layout.offsets[i]
            switch spec.initializer {
            case .constant(let value):
                start.update(repeating: value, count: spec.count)
            case .uniform(let bound):
                var rng = SplitMix64(seed: SplitMix64.mix(seed &+ 0x5EED) ^ UInt64(i))
                for j in 0..<spec.count { start[j] = (2 * rng.nextUnitFloat() - 1) * bound }
            }
        }
    }
}
