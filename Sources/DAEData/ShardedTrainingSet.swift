import DAECore

/// The training images one rank holds: only the shards it owns (about 1/N of the set), read
/// straight from the IDX files, plus the map from a training sample index to its row here.
public struct ShardedTrainingSet: Sendable {
    public let plan: ShardPlan
    public let rank: Int
    public let worldSize: Int
    public let digits: Digits
    /// Row in `digits` of the first sample of each owned shard, in `plan.shardsOwned` order.
    private let shardRows: [Int]
    private let ownedShards: [Int]

    public init(plan: ShardPlan, rank: Int, worldSize: Int, digits: Digits) {
        self.plan = plan
        self.rank = rank
        self.worldSize = worldSize
        self.digits = digits
        ownedShards = plan.shardsOwned(rank: rank, worldSize: worldSize)
        var rows: [Int] = []
        var row = 0
        for shard in ownedShards {
            rows.append(row)
            row += plan.range(of: shard).count
        }
        shardRows = rows
        precondition(row == digits.count, "ShardedTrainingSet: \(digits.count) rows for shards holding \(row)")
    }


    /// Row in `digits` of training sample `sample`, which must be in an owned shard.
    @inline(__always)
    public func row(of sample: Int) -> Int {
        // Owned shards are few (S / N); a linear scan beats a binary search at that size.
        for (k, shard) in ownedShards.enumerated() where plan.bounds[shard] <= sample && sample < plan.bounds[shard + 1] {
            return shardRows[k] + sample - plan.bounds[shard]
        }
        preconditionFailure("sample \(sample) is not in rank \(rank)'s shards")
    }
}
