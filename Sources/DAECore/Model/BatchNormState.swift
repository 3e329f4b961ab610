/// BatchNorm running statistics (`running_mean`, `running_var`, Float) and the
/// `num_batches_tracked` counters (Int64), kept apart from the trainable parameters:
/// they are not optimised, and in sync mode every rank updates them identically.
public final class BatchNormState {
    public let layout: TensorLayout
    public let values: FloatBuffer
    /// One `num_batches_tracked` per BatchNorm layer, in `Architecture.batchNorms` order.
    public let batchesTracked: AlignedBuffer<Int64>

    public init(_ specs: [TensorSpec], layers: Int) {
        layout = TensorLayout(specs)
        values = FloatBuffer(count: layout.totalCount)
        batchesTracked = AlignedBuffer<Int64>(count: layers)
        reset()
    }

    public func reset() {
        for (i, spec) in layout.specs.enumerated() {
            if case .constant(let value) = spec.initializer {
                (values.pointer + layout.offsets[i]).update(repeating: value, count: spec.count)
            }
        }
        batchesTracked.fill(0)
    }

    public func pointer(_ name: String) -> UnsafeMutablePointer<Float> { values.pointer + layout.range(of: name).lowerBound }

    public func value(_ name: String) -> TensorView {
        let range = layout.range(of: name)
        return TensorView(name: name, shape: [range.count], pointer: values.pointer + range.lowerBound, offset: range.lowerBound)
    }
}
