/// Virtual shards (DESIGN.md): the training set cut into `shards` contiguous ranges, shard s
/// owned by rank `s % worldSize`. Global step t takes the next `sliceSizes[s]` samples of
/// every shard's per-epoch permutation, adding up to the global batch whatever the world
/// size, which is what makes 1, 2 and 4 ranks train the same model.
///
/// Shard sizes are proportional to their slice sizes (when the shard count does not divide
/// the batch, the first `batch % shards` shards give one sample more per step and are that
/// much larger), so every shard runs out after the same number of steps.
public struct ShardPlan: Sendable, Equatable {
    public let trainCount: Int
    public let shards: Int
    public let globalBatch: Int
    /// Samples shard s gives to each global step.
    public let sliceSizes: [Int]
    /// `bounds[s]..<bounds[s + 1]` is shard s's range of training sample indices.
    public let bounds: [Int]
    /// Full global steps per epoch. Each shard's leftover (fewer than its slice size plus one
    /// sample, and different samples each epoch, since the permutation changes) waits for the
    /// next epoch. Stored: the sampler checks it every step, which must not allocate.
    public let stepsPerEpoch: Int

    public init(trainCount: Int, shards: Int, globalBatch: Int, worldSize: Int) throws {
        guard shards >= 1 else { throw DataError.invalidSetting(.shards, reason: "must be at least 1 (got \(shards)).") }
        guard shards >= worldSize else {
            throw DataError.invalidSetting(.shards, reason: "\(shards) shards cannot be spread over \(worldSize) ranks: use at least as many shards as ranks (24 suits 1, 2, 3, 4, 6, 8 and 12).")
        }
        guard globalBatch >= shards else {
            throw DataError.invalidSetting(.globalBatch, reason: "the global batch (\(globalBatch)) must be at least the number of shards (\(shards)), so every shard gives a sample to every step.")
        }
        guard trainCount >= globalBatch else {
            throw DataError.invalidSetting(.globalBatch, reason: "the global batch (\(globalBatch)) is larger than the training set (\(trainCount) images); lower it, or hold out fewer images or limit the training set less.")
        }
        self.trainCount = trainCount
        self.shards = shards
        self.globalBatch = globalBatch
        let base = globalBatch / shards, extra = globalBatch % shards
        sliceSizes = (0..<shards).map { base + ($0 < extra ? 1 : 0) }
        var bounds = [0]
        var cumulative = 0
        for size in sliceSizes {
            cumulative += size
            bounds.append(trainCount * cumulative / globalBatch)
        }
        self.bounds = bounds
        let sizes = sliceSizes
        stepsPerEpoch = (0..<shards).map { (bounds[$0 + 1] - bounds[$0]) / sizes[$0] }.min()!
    }

    public func range(of shard: Int) -> Range<Int> { bounds[shard]..<bounds[shard + 1] }

    public func shardsOwned(rank: Int, worldSize: Int) -> [Int] { Array(stride(from: rank, to: shards, by: worldSize)) }

    /// Samples this rank contributes to every step.
    public func localBatch(rank: Int, worldSize: Int) -> Int { shardsOwned(rank: rank, worldSize: worldSize).reduce(0) { $0 + sliceSizes[$1] } }

    /// The largest per-rank batch over all ranks (what activations are allocated for).
    public func maxLocalBatch(worldSize: Int) -> Int { (0..<worldSize).map { localBatch(rank: $0, worldSize: worldSize) }.max()! }
}
