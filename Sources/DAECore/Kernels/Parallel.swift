import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch

/// How a step uses several cores in one process: BLAS stays single-threaded and the step
/// splits its own work. GEMMs run one shard slice (slice) per call anyway, so the threads
/// take slices from a shared counter; element-wise loops (BatchNorm, layout) take channels
/// the same way. Each thread thus runs long stretches of single-threaded BLAS on its own data
/// instead of meeting the other at every small GEMM. With one thread (one rank per core
/// under MPI) everything is a plain loop.
public enum Parallel {
    /// Threads of this process's compute; set by `ComputeThreads.set`.
    nonisolated(unsafe) public private(set) static var threads = 1

    public static func setThreads(_ count: Int) { threads = max(1, count) }

    /// Calls `body(i)` for every `i` in `0..<count` (a channel, say), each thread taking the
    /// next `i` when done with one (see `forEachSlice`).
    @inline(__always)
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        forEachTaken(count) { _, i in body(i) }
    }

    /// `body(worker, i)` for every `i` in `0..<count`, the threads taking `i`s from a shared
    /// counter as they finish the last.
    @inline(__always)
    static func forEachTaken(_ count: Int, _ body: (Int, Int) -> Void) {
        let workers = min(threads, count)
        guard workers > 1 else {
            for i in 0..<count { body(0, i) }
            return
        }
        var next = 0
        withUnsafeMutablePointer(to: &next) { next in
            forEachChunk(workers) { worker, _ in
                while true {
                    let i = dae_take_next(next)
                    if i >= count { break }
                    body(worker, i)
                }
            }
        }
    }

    /// Splits `0..<count` into one contiguous range per thread (at most `count` of them) and
    /// calls `body(worker, range)` for each, concurrently; `worker` numbers them from 0.
    @inline(__always)
    public static func forEachChunk(_ count: Int, _ body: (Int, Range<Int>) -> Void) {
        let workers = min(threads, count)
        if workers <= 1 {
            if count > 0 { body(0, 0..<count) }
            return
        }
        withoutActuallyEscaping(body) { body in
            // The chunks touch disjoint data by the callers' contract, so sharing `body` is safe.
            let shared = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                shared.value(worker, (count * worker / workers)..<(count * (worker + 1) / workers))
            }
        }
    }

    /// `forEachChunk` for element-wise loops: below `minimum` elements one thread does it
    /// all, since waking another costs more than it saves.
    @inline(__always)
    public static func forEachElementChunk(_ count: Int, minimum: Int = 32_768, _ body: (Range<Int>) -> Void) {
        if count < minimum { return body(0..<count) }
        forEachChunk(count) { _, range in body(range) }
    }

    /// Visits the slices of a batch as `body(worker, index, first sample, samples)`. With
    /// several threads each takes the next slice as soon as it is done with one, so the
    /// threads finish together even when one starts late (a woken thread lags the caller by
    /// tens of microseconds on a VM) or runs slower for a while, where dealing them out
    /// round-robin would leave one core idle at the end of each loop. What a body computes
    /// must not depend on `worker` (it only picks per-thread scratch).
    @inline(__always)
    public static func forEachSlice(_ slices: [Int], _ body: (Int, Int, Int, Int) -> Void) {
        withUnsafeTemporaryAllocation(of: Int.self, capacity: slices.count) { starts in
            var start = 0
            for (i, size) in slices.enumerated() {
                starts[i] = start
                start += size
            }
            forEachTaken(slices.count) { worker, i in body(worker, i, starts[i], slices[i]) }
        }
    }
}

private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
