#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One data-parallel training step on a batch already written into `model.input`:
/// forward, loss over the global batch, backward with the gradient all-reduce, Adam. Its
/// collectives (BatchNorm statistics, gradients, the loss) go through `communicator`.
///
/// Every rank runs the same step on its part of the global batch; the loss is normalised by
/// the global element count and gradients are summed, so uneven per-rank batches stay exact
/// and every rank takes the identical Adam step. With `overlap`, gradient buckets are
/// all-reduced while backward is still running (`GradientBuckets`); without, one all-reduce
/// of the whole gradient buffer follows backward.
public final class TrainingStep {
    public let model: Autoencoder
    public let optimizer: Adam
    public let communicator: Communicator
    public let overlap: Bool
    public let buckets: GradientBuckets
    /// `[sum of squared errors, stop requests]`, all-reduced together once per step.
    private let lossSum = DoubleBuffer(count: 2)
    /// Whether any rank asked to stop (`run`'s `stopRequest`) in the last step.
    public private(set) var stopRequested = false

    public init(model: Autoencoder, optimizer: Adam, communicator: Communicator = SingleProcessCommunicator(), overlap: Bool = true,
                bucketCapacity: Int = 32_768) {
        precondition(optimizer.firstMoment.count == model.parameters.count, "optimizer and model sizes differ")
        self.model = model
        self.optimizer = optimizer
        self.communicator = communicator
        self.overlap = overlap
        self.buckets = GradientBuckets(communicator: communicator, gradients: model.parameters.gradientSums,
                                       capacity: overlap ? bucketCapacity : model.parameters.count)
    }

    /// Runs one step on `model.input[0..<batch]` against the clean `target` images; `globalBatch`
    /// is the sum of all ranks' batches, `slices` this rank's shard slices (see
    /// `Autoencoder.forward`). `stopRequest`: this rank was asked to stop (a signal); it travels
    /// with the loss, so every rank learns in `stopRequested` that one was, after the same step.
    /// Returns the global mean squared error before the update.
    @discardableResult
    public func run(target: UnsafePointer<Float>, batch: Int, globalBatch: Int, slices: [Int]? = nil, stopRequest: Bool = false) throws -> Double {
        try model.forward(batch: batch, training: true, slices: slices, communicator: communicator)
        lossSum[0] = model.sumOfSquaredErrors(target: target, batch: batch)
        lossSum[1] = stopRequest ? 1 : 0
        let elements = globalBatch * Architecture.imagePixels
        if communicator.size > 1 {
            if overlap {
                try model.backward(target: target, batch: batch, meanOver: elements, slices: slices, communicator: communicator) {
                    try buckets.ready($0)
                }
            } else {
                try model.backward(target: target, batch: batch, meanOver: elements, slices: slices, communicator: communicator)
                try buckets.ready(0..<model.parameters.count)
            }
            try buckets.finish()
            try communicator.allReduceSum(lossSum.buffer)
        } else {
            try model.backward(target: target, batch: batch, meanOver: elements, slices: slices, communicator: communicator)
        }
        model.parameters.finishGradients()
        optimizer.update(parameters: model.parameters.values.pointer, gradients: model.parameters.gradients.pointer)
        stopRequested = lossSum[1] > 0
        return lossSum[0] / Double(elements)
    }
}
