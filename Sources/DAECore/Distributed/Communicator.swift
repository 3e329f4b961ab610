#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The seam between the model and however many processes train it.
///
/// Everything the training step needs from its peers goes through here: in-place sum
/// all-reduces (gradients, BatchNorm statistics, losses), broadcasts of rank-0 decisions, a
/// barrier and abort; where the rank runs (`node`); a deadline scope for waits known to be
/// long; and the end (`finish`). `SingleProcessCommunicator` is the one-rank implementation;
/// the MPI one lives in its own target, so the core never links MPI, and nothing outside that
/// target needs to know which one it has.
///
/// Every rank must call the collectives in the same order with the same sizes.
public protocol Communicator: AnyObject {
    var rank: Int { get }
    var size: Int { get }

    /// Sums `buffer` element-wise over all ranks, in place; returns when done.
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws

    /// Starts a sum all-reduce of `buffer` in place and returns at once. The buffer must not
    /// be touched until `wait` on the returned request has returned.
    func startAllReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> ReductionRequest
    func startAllReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws -> ReductionRequest
    func wait(_ request: ReductionRequest) throws

    /// Copies `root`'s bytes into `buffer` on every rank.
    func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws
    func barrier() throws
    /// Ends every rank of the job with `code`; never returns.
    func abort(code: Int32) -> Never

    /// How many ranks share this rank's node, and this rank's place among them.
    var node: NodePlacement { get }
    /// Runs `body` with each collective allowed at least `seconds` before the job is judged
    /// stuck: for a wait known to be long (the node's first rank downloading the data).
    func withDeadline<T>(atLeast seconds: Double, _ body: () throws -> T) rethrows -> T
    /// Ends communication cleanly: once, on every rank, after the last collective.
    func finish()
}

/// Where a rank runs: the ranks on its node, its place among them, and the node's processors.
public struct NodePlacement: Sendable, Equatable {
    /// Ranks on this rank's node (1 without MPI).
    public let ranks: Int
    /// This rank's place among them; 0 is the node's first rank (the one that fetches the node's data).
    public let index: Int
    /// The node's online processors.
    public let processors: Int

    public init(ranks: Int, index: Int, processors: Int) {
        (self.ranks, self.index, self.processors) = (ranks, index, processors)
    }

    public var isFirst: Bool { index == 0 }

    /// Whether every compute thread of the node's ranks has a processor of its own.
    public var threadsFitProcessors: Bool { ranks * Parallel.threads <= processors }
}

/// A handle to a non-blocking collective started by `Communicator.startAllReduceSum`.
public struct ReductionRequest: Sendable, Equatable {
    public let id: Int
    public init(id: Int) { self.id = id }
}

/// One rank, no peers: every collective is the identity. Used for single-process runs and tests.
public final class SingleProcessCommunicator: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {}
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws {}
    public func startAllReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> ReductionRequest { ReductionRequest(id: 0) }
    public func startAllReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws -> ReductionRequest { ReductionRequest(id: 0) }
    public func wait(_ request: ReductionRequest) throws {}
    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws {}
    public func barrier() throws {}
    public func abort(code: Int32) -> Never { exit(code) }
    public var node: NodePlacement { NodePlacement(ranks: 1, index: 0, processors: ComputeThreads.processorsOnline) }
    public func withDeadline<T>(atLeast seconds: Double, _ body: () throws -> T) rethrows -> T { try body() }
    public func finish() {}
}
