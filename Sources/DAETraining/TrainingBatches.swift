import DAECore
import DAEData

/// This rank's part of every step's batch: its shards of the training set, the epoch's sample
/// order, and the noise; `assemble` writes a step's clean targets and noisy inputs into
/// buffers allocated once.
final class TrainingBatches {
    let plan: ShardPlan
    let shards: ShardedTrainingSet
    let noise: NoiseGenerator
    /// This rank's samples per step.
    let localBatch: Int
    /// This rank's shard slices in a step, in batch order: the slices gradients and BatchNorm
    /// statistics are summed by, which makes them world-size invariant.
    let slices: [Int]
    /// The clean images of the last assembled batch: the step's targets.
    let clean: FloatBuffer
    private let indices: UnsafeMutablePointer<Int>
    private let seed: UInt64
    private let factor: Float

    init(splits: DataSplits, plan: ShardPlan, config: TrainingConfig, communicator: Communicator) throws {
        let (rank, size) = (communicator.rank, communicator.size)
        self.plan = plan
        shards = try splits.loadShards(plan: plan, rank: rank, worldSize: size)
        noise = NoiseGenerator(seed: config.seed, corruption: config.noise)
        localBatch = plan.localBatch(rank: rank, worldSize: size)
        slices = plan.shardsOwned(rank: rank, worldSize: size).map { plan.sliceSizes[$0] }
        clean = FloatBuffer(count: localBatch * Architecture.imagePixels)
        indices = .allocate(capacity: localBatch)
        (seed, factor) = (config.seed, config.noiseFactor)
    }

    deinit { indices.deallocate() }

    /// The order of `epoch`'s samples on this rank.
    func order(epoch: Int, communicator: Communicator) -> EpochOrder {
        EpochOrder(plan: plan, seed: seed, epoch: epoch, rank: communicator.rank, worldSize: communicator.size)
    }

    /// Writes step `step` of `order`'s epoch: clean images into `clean`, noised ones into
    /// `noisy`. Returns this rank's sample count.
    func assemble(step: Int, of order: EpochOrder, epoch: Int, noisy: UnsafeMutablePointer<Float>) -> Int {
        let n = order.samples(step: step, into: indices)
        let shards = self.shards, indices = self.indices
        BatchAssembler.assemble(count: n, digits: shards.digits, row: { shards.row(of: indices[$0]) }, sampleIndex: { indices[$0] },
                                noise: noise, epoch: epoch, factor: factor, clean: clean.pointer, noisy: noisy)
        return n
    }
}
