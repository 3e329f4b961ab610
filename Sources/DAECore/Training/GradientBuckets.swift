/// Gradient all-reduce in buckets that overlap backward: `Autoencoder.backward` reports each
/// layer's gradient range as soon as it is final (last layer first); consecutive ranges are
/// gathered until a bucket holds `capacity` values, and that bucket's non-blocking all-reduce
/// starts while backward goes on through the earlier layers. `finish` starts the last bucket
/// and waits for all of them. Every rank sees the same ranges in the same order, so every
/// rank starts the same collectives in the same order. The buckets are of the Double
/// gradient sums (see `Parameter`), so the sum over ranks does not depend on their number.
public final class GradientBuckets {
    public let communicator: Communicator
    public let gradients: DoubleBuffer
    /// Floats per bucket before its all-reduce is started.
    public let capacity: Int
    private var pendingLower = 0, pendingUpper = 0
    private var requests = [ReductionRequest](repeating: ReductionRequest(id: 0), count: 64)
    private var inFlight = 0
    /// Buckets started in the last step (for logs and tests).
    public private(set) var bucketsLastStep = 0

    public init(communicator: Communicator, gradients: DoubleBuffer, capacity: Int = 32_768) {
        self.communicator = communicator
        self.gradients = gradients
        self.capacity = max(1, capacity)
    }

    /// Call with each range as it becomes final; ranges must arrive in descending, adjacent order.
    public func ready(_ range: Range<Int>) throws {
        if pendingLower == pendingUpper {
            (pendingLower, pendingUpper) = (range.lowerBound, range.upperBound)
        } else {
            precondition(range.upperBound == pendingLower, "gradient ranges must arrive adjacent, last layer first")
            pendingLower = range.lowerBound
        }
        if pendingUpper - pendingLower >= capacity { try startPending() }
    }

    /// Starts the last bucket, waits for every bucket; gradients are then summed over all ranks.
    public func finish() throws {
        try startPending()
        for i in 0..<inFlight { try communicator.wait(requests[i]) }
        bucketsLastStep = inFlight
        inFlight = 0
    }

    private func startPending() throws {
        guard pendingUpper > pendingLower else { return }
        precondition(inFlight < requests.count, "too many gradient buckets; raise the bucket capacity")
        let bucket = UnsafeMutableBufferPointer(start: gradients.pointer + pendingLower, count: pendingUpper - pendingLower)
        requests[inFlight] = try communicator.startAllReduceSum(bucket)
        inFlight += 1
        pendingLower = 0
        pendingUpper = 0
    }
}
