import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch

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
