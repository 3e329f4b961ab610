import DAECore
import DAEData
import Foundation

/// Before training, the ranks check that they start from the same inputs: the training files'
/// bytes, the settings that shape the run, and the program itself. Ranks started on different
/// copies of the data (nodes with their own local files, an MPMD launch) or different builds
/// would otherwise fail much later in a collective of another size, or train silently on
/// different data while their parameters still agree.
public enum InputAgreement {
    /// What a rank's inputs are, one fingerprint each.
    static let parts = ["training data", "settings", "dae-dist binary"]

    /// Call on every rank; throws `TrainingError.ranksDisagree` on every rank when any rank's
    /// inputs differ from rank 0's (each such rank has named its host and what differs).
    public static func check(_ config: TrainingConfig, communicator: Communicator) throws {
        guard communicator.size > 1 else { return }
        let mine = try fingerprints(config)
        var reference = mine
        try reference.withUnsafeMutableBytes { try communicator.broadcast($0, root: 0) }
        let flags = DoubleBuffer(count: parts.count * communicator.size)
        flags.fill(0)
        for (i, (a, b)) in zip(mine, reference).enumerated() where a != b {
            flags[communicator.rank * parts.count + i] = 1
            FileHandle.standardError.write(Data("dae-dist: rank \(communicator.rank) on \(ProcessInfo.processInfo.hostName): its \(parts[i]) differ from rank 0's\n".utf8))
        }
        try communicator.allReduceSum(flags.buffer)
        var differences: [String] = []
        for (i, part) in parts.enumerated() {
            let ranks = (0..<communicator.size).filter { flags[$0 * parts.count + i] != 0 }
            if !ranks.isEmpty { differences.append("\(part) (rank\(ranks.count > 1 ? "s" : "") \(ranks.map(String.init).joined(separator: ", ")))") }
        }
        if !differences.isEmpty { throw TrainingError.ranksDisagree(differences: differences) }
    }

    /// The training files' bytes (or the synthetic digits' recipe), the trajectory settings
    /// and this executable (the same build on every node), each as a 64-bit FNV-1a hash.
    static func fingerprints(_ config: TrainingConfig) throws -> [UInt64] {
        var data = Data()
        switch config.dataset {
        case .mnist(let dataDir):
            for kind in [IDXKind.images, .labels] {
                let path = try MNISTFiles.locate(dataDir: dataDir, .train, kind)
                do { data.append(try InputFile.read(path, limit: 1 << 31)) } catch { throw DataError.unreadable(path: path, reason: error.reason) }
            }
        case .synthetic(let seed, let trainCount, let testCount):
            data.append(contentsOf: Array("synthetic \(seed) \(trainCount) \(testCount)".utf8))
        }
        let settings = RunSetting.all.filter(\.shapesTrajectory).map { "\($0.key)=\(JSON.encode($0.recorded(config)))" }.joined(separator: ";")
        let binary = (try? InputFile.read("/proc/self/exe", limit: 1 << 30)) ?? Data(RunReporter.version.utf8)
        return [data, Data(settings.utf8), binary].map { bytes in
            bytes.withUnsafeBytes { raw in raw.reduce(UInt64(0xCBF2_9CE4_8422_2325)) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01B3 } }
        }
    }
}
