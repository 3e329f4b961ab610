#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The seam between the model and however many processes train it.
///
/// Everything the training step needs from its peers goes through here: in-place sum
/// all-reduces (gradients, BatchNorm statistics, losses), broadcasts of rank-0 decisions, a
/// barrier and abort. `SingleProcessCommunicator` is the one-rank implementation; the MPI
/// one lives in its own target, so the core never links MPI.
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
}
