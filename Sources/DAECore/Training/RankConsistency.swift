/// Checks that all ranks hold bit-identical parameters (they must: every rank applies the
/// same summed gradients), and averages BatchNorm running statistics in `local` mode.
public enum RankConsistency {
    /// FNV-1a over the bit patterns of the parameters, and of the running statistics in `sync`
    /// mode (in `local` mode they differ between ranks until averaged).
    public static func checksum(_ model: Autoencoder) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        let buffers = model.batchNormStatistics == .sync ? [model.parameters.values, model.batchNormState.values] : [model.parameters.values]
        for buffer in buffers {
            for i in 0..<buffer.count {
                hash = (hash ^ UInt64(buffer[i].bitPattern)) &* 0x0000_0100_0000_01B3
            }
        }
        return hash
    }

    /// True when every rank's checksum equals rank 0's. All ranks learn the answer.
    public static func ranksAgree(_ model: Autoencoder, communicator: Communicator, scratch: DoubleBuffer) throws -> Bool {
        guard communicator.size > 1 else { return true }
        var reference = checksum(model)
        let mine = reference
        try withUnsafeMutableBytes(of: &reference) { try communicator.broadcast($0, root: 0) }
        scratch[0] = mine == reference ? 0 : 1
        try communicator.allReduceSum(UnsafeMutableBufferPointer(start: scratch.pointer, count: 1))
        return scratch[0] == 0
    }

    /// `local` BatchNorm: each rank's running statistics followed its own batches; replace
    /// them by their mean over ranks (before validation and checkpoints) so all ranks agree.
    public static func averageRunningStatistics(_ model: Autoencoder, communicator: Communicator) throws {
        guard communicator.size > 1 else { return }
        let values = model.batchNormState.values
        try communicator.allReduceSum(values.buffer)
        let scale = 1 / Float(communicator.size)
        for i in 0..<values.count { values[i] *= scale }
    }
}
