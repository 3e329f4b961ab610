/// A `Communicator` that forwards to another and adds up the seconds this rank spends
/// blocked in it: blocking collectives and waits on non-blocking ones (starting one is
/// counted too, though it returns at once). What `dae-dist bench` reports as communication
/// time; waiting for a slower peer counts, as it does in a real step.
public final class TimedCommunicator: Communicator {
    public let inner: Communicator
    /// Seconds spent in collectives since the last `reset`.
    public private(set) var seconds: Double = 0

    public init(_ inner: Communicator) { self.inner = inner }

    public func reset() { seconds = 0 }

    private func timed<T>(_ body: () throws -> T) rethrows -> T {
        let start = Clock.seconds()
        defer { seconds += Clock.seconds() - start }
        return try body()
    }

    public var rank: Int { inner.rank }
    public var size: Int { inner.size }
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws { try timed { try inner.allReduceSum(buffer) } }
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws { try timed { try inner.allReduceSum(buffer) } }
    public func startAllReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> ReductionRequest {
        try timed { try inner.startAllReduceSum(buffer) }
    }
    public func startAllReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws -> ReductionRequest {
        try timed { try inner.startAllReduceSum(buffer) }
    }
    public func wait(_ request: ReductionRequest) throws { try timed { try inner.wait(request) } }
    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws { try timed { try inner.broadcast(buffer, root: root) } }
    public func barrier() throws { try timed { try inner.barrier() } }
    public func abort(code: Int32) -> Never { inner.abort(code: code) }
}
