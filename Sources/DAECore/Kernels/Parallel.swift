import Dispatch

/// Splits the element-wise work of a step (im2col, BatchNorm, bias, layout changes) across
/// the same number of threads BLAS uses, so a step does not fall back to one core between
/// GEMMs. With one thread (one rank per core under MPI) it is a plain loop.
public enum Parallel {
    /// Threads for element-wise loops; set together with BLAS's by `ComputeThreads.set`.
    nonisolated(unsafe) public private(set) static var threads = 1

    public static func setThreads(_ count: Int) { threads = max(1, count) }

    /// Calls `body(i)` for every `i` in `0..<count`, in contiguous chunks, one chunk per thread.
    @inline(__always)
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        let workers = min(threads, count)
        if workers <= 1 {
            for i in 0..<count { body(i) }
            return
        }
        withoutActuallyEscaping(body) { body in
            // The chunks touch disjoint data by the callers' contract, so sharing `body` is safe.
            let shared = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                let start = count * worker / workers, end = count * (worker + 1) / workers
                for i in start..<end { shared.value(i) }
            }
        }
    }
}

private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// One knob for all compute threads of this process: BLAS's and the element-wise loops'.
public enum ComputeThreads {
    public static func set(_ count: Int) {
        BLAS.setThreads(count)
        Parallel.setThreads(count)
    }
}
