import Foundation

/// How many images a training step may hold at once: every activation of the model, the two
/// gradient buffers and the clean and noisy images are allocated per image, once, for the
/// largest batch. The images of all ranks on a node must fit in half its memory (the rest is
/// for the data, the system and everything else), checked before anything is allocated.
public enum MemoryBudget {
    /// Bytes a training step holds per image of `architecture`.
    public static func bytesPerImage(_ architecture: Architecture) -> Int {
        let layers = architecture.layers.map(\.output.count)
        return 4 * (layers.reduce(0, +) + 2 * (layers.max() ?? 0) + 2 * Architecture.imagePixels)
    }

    /// The most images the node's ranks may each hold (`ranksOnNode` of them).
    public static func largestBatch(_ architecture: Architecture, ranksOnNode: Int = 1) -> Int {
        let memory = Int(clamping: ProcessInfo.processInfo.physicalMemory)
        return max(2, memory / 2 / max(1, ranksOnNode) / bytesPerImage(architecture))
    }

    /// Nil when `batch` images per rank fit; otherwise why not, naming `what` (a flag).
    public static func refusal(batch: Int, of architecture: Architecture, ranksOnNode: Int = 1, what: String) -> String? {
        let most = largestBatch(architecture, ranksOnNode: ranksOnNode)
        guard batch > most else { return nil }
        let gigabytes = Double(batch) * Double(bytesPerImage(architecture)) * Double(ranksOnNode) / Double(1 << 30)
        let memory = Double(ProcessInfo.processInfo.physicalMemory) / Double(1 << 30)
        return String(format: "%@ needs %.1f GB of activations on this node (%d image(s) per rank, %d rank(s)); it has %.0f GB, and at most %d images per rank fit in half of it",
                      what, gigabytes, batch, ranksOnNode, memory, most)
    }
}
