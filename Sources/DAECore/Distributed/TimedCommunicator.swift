/// A `Communicator` that forwards to another and adds up the seconds this rank spends
/// blocked in it: blocking collectives and waits on non-blocking ones (starting one is
/// counted too, though it returns at once). What `dae-dist bench` reports as communication
/// time; waiting for a slower peer counts, as it does in a real step.
public final class TimedCommunicator: Communicator {
    public let inner: Communicator
    /// Seconds spent in collectives since the last `reset`.
    public var seconds: Double { blockingSeconds + nonBlockingSeconds }
    /// The part of `seconds` in blocking collectives: in a training step, the BatchNorm
    /// statistics and the loss, each a point where every rank waits for the slowest.
    public private(set) var blockingSeconds: Double = 0
    /// The part in starting and waiting for non-blocking ones (a step's gradient buckets).
    public private(set) var nonBlockingSeconds: Double = 0

    public init(_ inner: Communicator) { self.inner = inner }

    public func reset() { (blockingSeconds, nonBlockingSeconds) = (0, 0) }

    /// Runs `body`, adding its seconds to `counter`.
    private func timed<T>(_ counter: inout Double, _ body: () throws -> T) rethrows -> T {
        let start = Clock.seconds()
        defer { counter += Clock.seconds() - start }
        return try body()
    }

    public var rank: Int { inner.rank }
    public var size: Int { inner.size }
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws { try timed(&blockingSeconds) { try inner.allReduceSum(buffer) } }
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws { try timed(&blockingSeconds) { try inner.allReduceSum(buffer) } }
    public func startAllReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> ReductionRequest {
        try timed(&nonBlockingSeconds) { try inner.startAllReduceSum(buffer) }
    }
    public func startAllReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws -> ReductionRequest {
        try timed(&nonBlockingSeconds) { try inner.startAllReduceSum(buffer) }
    }
    public func wait(_ request: ReductionRequest) throws { try timed(&nonBlockingSeconds) { try inner.wait(request) } }
    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws { try timed(&blockingSeconds) { try inner.broadcast(buffer, root: root) } }
    public func barrier() throws { try timed(&blockingSeconds) { try inner.barrier() } }
    public func abort(code: Int32) -> Never { inner.abort(code: code) }
    public var node: NodePlacement { inner.node }
    public func withDeadline<T>(atLeast seconds: Double, _ body: () throws -> T) rethrows -> T {
        try inner.withDeadline(atLeast: seconds, body)
    }
    public func finish() { inner.finish() }
}
