#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import DAECore
import MPIShim

/// An MPI error on this rank, with the operation it happened in.
public struct MPIError: Error, CustomStringConvertible {
    public let rank: Int
    public let operation: String
    public let message: String
    public var description: String { "rank \(rank): MPI error in \(operation): \(message)" }
}

/// `Communicator` over OpenMPI's `MPI_COMM_WORLD` (through the `MPIShim` C functions).
///
/// Every collective is started non-blocking and then waited for with a watchdog: if it has
/// not completed within `timeout` seconds, the rank says which operation it was stuck in and
/// aborts the whole job, so a dead or diverged rank never leaves the others hanging. MPI
/// errors are returned (not fatal inside MPI) and become `MPIError`s.
public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int
    /// Seconds a collective may take before the job is aborted.
    public var timeout: Double
    /// Bytes a broadcast sends per MPI call: MPI counts are 32-bit, and a training state to
    /// resume from may be larger than 2 GiB. (The self-test makes it small to exercise it.)
    public var broadcastPiece = 1 << 30
    public let node: NodePlacement
    /// What each in-flight request is, for the watchdog's message.
    private var operations = [StaticString](repeating: "", count: 256)

    /// Initialises MPI (once per process).
    public init(timeout: Double) throws {
        var rank: Int32 = 0, size: Int32 = 0, nodeSize: Int32 = 1, nodeRank: Int32 = 0
        let status = dae_mpi_init(&rank, &size, &nodeSize, &nodeRank)
        guard status == 0 else { throw MPIError(rank: -1, operation: "MPI_Init", message: MPICommunicator.errorText(status)) }
        self.rank = Int(rank)
        self.size = Int(size)
        self.node = NodePlacement(ranks: Int(nodeSize), index: Int(nodeRank), processors: ComputeThreads.processorsOnline)
        self.timeout = timeout
    }

    /// Ends MPI cleanly; call once, after the last collective, on every rank.
    public func finish() {
        if dae_mpi_initialized() != 0 { _ = dae_mpi_finalize() }
    }

    public func withDeadline<T>(atLeast seconds: Double, _ body: () throws -> T) rethrows -> T {
        let saved = timeout
        timeout = max(saved, seconds)
        defer { timeout = saved }
        return try body()
    }

    static func errorText(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 512)
        dae_mpi_error_string(code, &buffer, Int32(buffer.count))
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private func check(_ status: Int32, _ operation: StaticString) throws {
        guard status == 0 else { throw MPIError(rank: rank, operation: "\(operation)", message: MPICommunicator.errorText(status)) }
    }

    private func started(_ request: Int32, _ operation: StaticString) -> ReductionRequest {
        operations[Int(request)] = operation
        return ReductionRequest(id: Int(request))
    }

    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
        try wait(try startAllReduceSum(buffer))
    }

    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws {
        try wait(try startAllReduceSum(buffer))
    }

    public func startAllReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws -> ReductionRequest {
        var request: Int32 = 0
        try check(dae_mpi_iallreduce_double_sum(buffer.baseAddress, Int32(buffer.count), &request), "all-reduce (Double)")
        return started(request, "all-reduce (Double)")
    }

    public func startAllReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> ReductionRequest {
        var request: Int32 = 0
        try check(dae_mpi_iallreduce_float_sum(buffer.baseAddress, Int32(buffer.count), &request), "all-reduce (Float)")
        return started(request, "all-reduce (Float)")
    }

    /// Seconds a wait polls MPI (yielding between rounds) before it starts sleeping between polls.
    /// Polling answers a collective within microseconds, where a sleeping poller adds its
    /// timer's slack to each of a step's collectives (10 BatchNorm syncs plus the gradients').
    /// Only when each compute thread of the node's ranks has a processor of
    /// its own: ranks known to share processors (`--oversubscribe`) sleep at once. Polling
    /// yields the core between rounds, so ranks sharing processors unnoticed (nodes simulated
    /// on one machine) still let each other run. Long waits (rank 0 validating) sleep after
    /// the budget either way.
    public var spinSeconds: Double {
        node.threadsFitProcessors ? 0.02 : 0
    }

    public func wait(_ request: ReductionRequest) throws {
        let status = dae_mpi_wait(Int32(request.id), timeout, spinSeconds)
        if status == DAE_MPI_TIMEOUT {
            let message = "dae-dist: rank \(rank) of \(size): no progress for \(Int(timeout)) s in \(operations[request.id]); "
                + "another rank has died or left the training loop. Aborting the job (the collective timeout is --collective-timeout).\n"
            _ = message.withCString { write(2, $0, strlen($0)) }
            abort(code: 3)
        }
        try check(status, operations[request.id])
    }

    /// In pieces of `broadcastPiece` bytes, one after the other (a buffer of any size).
    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws {
        var offset = 0
        repeat {
            let count = min(broadcastPiece, buffer.count - offset)
            var request: Int32 = 0
            try check(dae_mpi_ibcast(buffer.baseAddress.map { $0 + offset }, Int32(count), Int32(root), &request), "broadcast")
            try wait(started(request, "broadcast"))
            offset += count
        } while offset < buffer.count
    }

    public func barrier() throws {
        var request: Int32 = 0
        try check(dae_mpi_ibarrier(&request), "barrier")
        try wait(started(request, "barrier"))
    }

    public func abort(code: Int32) -> Never {
        fflush(nil)
        dae_mpi_abort(code)
        exit(code)
    }
}
