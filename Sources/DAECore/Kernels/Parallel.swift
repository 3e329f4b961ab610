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

/// One knob for all compute threads of this process (see `Parallel`): BLAS is kept at one
/// thread, so concurrent calls from the step's threads never contend for BLAS's own pool.
public enum ComputeThreads {
    public static func set(_ count: Int) {
        BLAS.setThreads(1)
        Parallel.setThreads(count)
    }

    /// Processors online on this machine (or container's view of it).
    public static var processorsOnline: Int { max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    /// Processors this process may run on (its CPU affinity), or nil where the system does not say.
    public static var processorsAllowed: Int? {
        let count = Int(dae_processors_allowed())
        return count > 0 ? count : nil
    }

    /// The compute threads a rank uses when `--threads` is not given: its share of the
    /// processors. A rank whose affinity is narrower than the machine (a launcher bound it)
    /// takes all it may run on; otherwise the node's processors are divided among its
    /// `ranksOnNode` ranks. At least 1, at most `limit` (a step has only so many shard slices
    /// to share out).
    public static func automatic(ranksOnNode: Int, limit: Int) -> Int {
        let online = processorsOnline
        let allowed = processorsAllowed ?? online
        let share = allowed < online ? allowed : online / max(1, ranksOnNode)
        return min(max(1, share), max(1, limit))
    }

    /// A warning when `threads` compute threads would share fewer processors: mpirun binds
    /// each rank to one core unless told otherwise, which silently serialises the threads.
    public static func affinityWarning(threads: Int, rank: Int) -> String? {
        guard let allowed = processorsAllowed, threads > allowed else { return nil }
        return "dae-dist: warning: rank \(rank) runs --threads \(threads) on \(allowed) processor(s) (its CPU affinity), so its threads "
            + "take turns. mpirun binds each rank to one core by default: start it with --bind-to none, or --map-by slot:PE=\(threads)."
    }
}
