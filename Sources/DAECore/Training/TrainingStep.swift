/// One data-parallel training step on a batch already written into `model.input`:
/// forward, loss over the global batch, backward, gradient all-reduce, Adam.
///
/// Every rank runs the same step on its part of the global batch; the loss is normalised by
/// the global element count and gradients are summed, so uneven per-rank batches stay exact
/// and every rank takes the identical Adam step.
public final class TrainingStep {
    public let model: Autoencoder
    public let optimizer: Adam
    private let lossSum = DoubleBuffer(count: 1)

    public init(model: Autoencoder, optimizer: Adam) {
        precondition(optimizer.firstMoment.count == model.parameters.count, "optimizer and model sizes differ")
        self.model = model
        self.optimizer = optimizer
    }

    /// Runs one step on `model.input[0..<batch]` against the clean `target` images; `globalBatch`
    /// is the sum of all ranks' batches. Returns the global mean squared error before the update.
    @discardableResult
    public func run(target: UnsafePointer<Float>, batch: Int, globalBatch: Int) throws -> Double {
        let communicator = model.communicator
        try model.forward(batch: batch, training: true)
        lossSum[0] = model.sumOfSquaredErrors(target: target, batch: batch)
        let elements = globalBatch * Architecture.imagePixels
        try model.backward(target: target, batch: batch, meanOver: elements)
        if communicator.size > 1 {
            try communicator.allReduceSum(model.parameters.gradients.buffer)
            try communicator.allReduceSum(lossSum.buffer)
        }
        optimizer.update(parameters: model.parameters.values.pointer, gradients: model.parameters.gradients.pointer)
        return lossSum[0] / Double(elements)
    }
}
