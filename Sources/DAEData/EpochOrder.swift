import DAECore

/// The order a rank visits its shards' samples in one epoch: each shard permuted by a
/// generator keyed by (seed, epoch, shard) alone, so the order of a shard never depends on
/// the world size or on which rank holds it.
public struct EpochOrder: Sendable {
    public let plan: ShardPlan
    public let epoch: Int
    public let ownedShards: [Int]
    /// Per owned shard, its training sample indices in visiting order.
    private let orders: [[Int32]]

    public init(plan: ShardPlan, seed: UInt64, epoch: Int, rank: Int, worldSize: Int) {
        self.plan = plan
        self.epoch = epoch
        ownedShards = plan.shardsOwned(rank: rank, worldSize: worldSize)
        orders = ownedShards.map { EpochOrder.permutation(of: plan.range(of: $0), seed: seed, epoch: epoch, shard: $0) }
    }

    /// Fisher-Yates with SplitMix64 keyed by (seed, epoch, shard).
    public static func permutation(of range: Range<Int>, seed: UInt64, epoch: Int, shard: Int) -> [Int32] {
        var order = range.map { Int32($0) }
        var rng = SplitMix64(seed: SplitMix64.mix(SplitMix64.mix(seed ^ 0x5348_4152_4453) ^ UInt64(epoch)) ^ (UInt64(shard) << 32))
        if order.count > 1 {
            for i in stride(from: order.count - 1, to: 0, by: -1) {
                let j = Int(rng.next() % UInt64(i + 1))
                order.swapAt(i, j)
            }
        }
        return order
    }

    /// Writes this rank's training sample indices for global `step` of the epoch into
    /// `indices` and returns how many: the next slice of each owned shard, shard by shard.
    @discardableResult
    public func samples(step: Int, into indices: UnsafeMutablePointer<Int>) -> Int {
        precondition(step >= 0 && step < plan.stepsPerEpoch, "step \(step) outside the epoch's \(plan.stepsPerEpoch) steps")
        var n = 0
        for (k, shard) in ownedShards.enumerated() {
            let size = plan.sliceSizes[shard]
            let order = orders[k]
            for i in (step * size)..<((step + 1) * size) {
                indices[n] = Int(order[i])
                n += 1
            }
        }
        return n
    }
}
