import ArgumentParser
import DAECore
import DAEDistributed
import DAETraining
import Foundation

/// `dae-dist selftest`: checks run under `mpirun` by the test suite (hidden from --help).
struct SelfTest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "selftest",
        abstract: "Distributed self-checks run under mpirun by the tests.",
        shouldDisplay: false,
        subcommands: [Collectives.self, Fail.self, Gemm.self]
    )

    /// Every collective of the `Communicator` on sizes that do not divide evenly, checked on every rank.
    struct Collectives: ParsableCommand {
        @OptionGroup var collective: CollectiveOptions
        /// Bytes per broadcast piece (see `MPICommunicator.broadcastPiece`): small, so that the
        /// broadcasts below go in several pieces.
        @Option(name: .customLong("broadcast-piece")) var broadcastPiece: Int?

        func run() throws {
            let communicator = try Communicators.make(timeout: collective.collectiveTimeout, broadcastPiece: broadcastPiece)
            let (rank, size) = (communicator.rank, communicator.size)
            let rankSum = Float(size * (size + 1) / 2)
            var failures: [String] = []
            for count in [1, 7, 1000, 100_003] {
                let a = FloatBuffer(count: count), b = FloatBuffer(count: count)
                for i in 0..<count {
                    a[i] = Float(rank + 1) * Float(i % 13)
                    b[i] = Float(rank + 1) * 0.5
                }
                try communicator.allReduceSum(a.buffer)
                // two non-blocking reductions in flight at once
                let first = try communicator.startAllReduceSum(b.buffer)
                let doubles = DoubleBuffer(count: count)
                for i in 0..<count { doubles[i] = Double(rank + 1) * 1e-3 }
                try communicator.allReduceSum(doubles.buffer)
                try communicator.wait(first)
                for i in 0..<count where a[i] != rankSum * Float(i % 13) || b[i] != rankSum * 0.5
                    || abs(doubles[i] - Double(rankSum) * 1e-3) > 1e-12 {
                    failures.append("all-reduce of \(count) values wrong at \(i): \(a[i]), \(b[i]), \(doubles[i])")
                    break
                }
            }
            for root in Array(Set([0, size - 1])).sorted() {  // sorted: Set order differs between processes
                // A pattern that differs from byte to byte, so a piece sent to the wrong offset shows.
                let pattern = (0..<1001).map { UInt8(truncatingIfNeeded: $0 * 7 + root) }
                var bytes = rank == root ? pattern : [UInt8](repeating: 0, count: 1001)
                try bytes.withUnsafeMutableBytes { try communicator.broadcast($0, root: root) }
                if bytes != pattern { failures.append("broadcast from \(root) wrong") }
            }
            try communicator.barrier()
            if !failures.isEmpty {
                print("rank \(rank): " + failures.joined(separator: "; "))
                Foundation.exit(1)
            }
            print("collectives ok on rank \(rank) of \(size)")
            if Communicators.launchedByMPI {
                let policy = communicator.node.threadsFitProcessors ? "spin" : "sleep"
                print("rank \(rank): \(communicator.node.ranks) ranks on this node, waits \(policy)")
            }
            communicator.finish()
        }
    }

    /// One rank fails after a few all-reduces; the job must end, non-zero, without hanging.
    struct Fail: ParsableCommand {
        /// throw: an error on that rank; exit: the process ends; hang: the rank stops calling
        /// collectives (stuck in a long computation) and its peers' watchdog must end the job.
        enum How: String, ExpressibleByArgument { case `throw`, exit, hang }
        @Option(name: .customLong("failing-rank")) var failingRank = 1
        @Option var how: How = .throw
        @OptionGroup var collective: CollectiveOptions

        struct Injected: Error, CustomStringConvertible { let rank: Int; var description: String { "rank \(rank): injected failure" } }

        func run() throws {
            let communicator = try Communicators.make(timeout: collective.collectiveTimeout)
            do {
                let buffer = FloatBuffer(count: 1000)
                for step in 0..<1000 {
                    if step == 3 && communicator.rank == failingRank {
                        if how == .exit { Foundation.exit(7) }
                        if how == .hang { sleep(600) }
                        throw Injected(rank: communicator.rank)
                    }
                    try communicator.allReduceSum(buffer.buffer)
                }
            } catch {
                FileHandle.standardError.write(Data("dae-dist: \(error)\n".utf8))
                communicator.abort(code: 1)
            }
            communicator.finish()
        }
    }

    /// The GEMM library each rank loaded (kernel, its instruction set, who chose it) and one
    /// product checked against a plain double-precision one, as a JSON line per rank.
    struct Gemm: ParsableCommand {
        func run() throws {
            let communicator = try Communicators.make(timeout: 60)
            let (m, n, k) = (37, 29, 41)
            let a = (0..<(m * k)).map { Float(($0 * 7) % 11) - 5 }, b = (0..<(k * n)).map { Float(($0 * 5) % 13) - 6 }
            var c = [Float](repeating: 0, count: m * n)
            BLAS.gemm(transposeA: false, transposeB: false, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &c, ldc: n)
            var worst = 0.0
            for i in 0..<m {
                for j in 0..<n {
                    let exact = (0..<k).reduce(0.0) { $0 + Double(a[i * k + $1]) * Double(b[$1 * n + j]) }
                    worst = max(worst, abs(exact - Double(c[i * n + j])))
                }
            }
            let library = BLAS.library
            let fields: KeyValuePairs<String, Any?> = ["rank": communicator.rank, "machine": RunReporter.machine,
                                                       "product_error": worst, "narrower_than_cpu": library.isa < CPU.isa]
            print(JSON.encode(fields))
            communicator.finish()
            if worst != 0 { throw ExitCode(1) }  // small integers: every sum is exact in float
        }
    }
}
