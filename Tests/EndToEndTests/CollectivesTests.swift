import XCTest

/// The MPI communicator under real `mpirun`, 1 to 4 ranks (oversubscribed on 2 cores).
final class CollectivesTests: XCTestCase {
    func testAllReduceAndBroadcastOnOneToFourRanks() throws {
        for ranks in 1...4 {
            // Broadcasts in 97-byte pieces: the 1001-byte ones below take 11 (a training state
            // over 2 GiB is sent the same way, in 1 GiB pieces).
            let result = try MPIRun.run(ranks: ranks, ["selftest", "collectives", "--collective-timeout", "60", "--broadcast-piece", "97"])
            XCTAssertEqual(result.status, 0, "\(ranks) ranks: \(result.output)")
            for rank in 0..<ranks {
                XCTAssertTrue(result.output.contains("collectives ok on rank \(rank) of \(ranks)"), "\(ranks) ranks: \(result.output)")
                // Waits poll without pausing only while every rank has a processor of its own
                // (one compute thread each here); oversubscribed ranks sleep between polls.
                let policy = ranks <= ProcessInfo.processInfo.activeProcessorCount ? "spin" : "sleep"
                XCTAssertTrue(result.output.contains("rank \(rank): \(ranks) ranks on this node, waits \(policy)"), "\(ranks) ranks: \(result.output)")
            }
        }
    }

    /// A rank that throws or exits ends the whole job quickly, with a non-zero status.
    func testAFailingRankEndsTheJob() throws {
        for how in ["throw", "exit"] {
            let result = try MPIRun.run(ranks: 3, ["selftest", "fail", "--how", how, "--failing-rank", "1"], deadline: 60)
            XCTAssertNotEqual(result.status, 0, "\(how): \(result.output)")
            XCTAssertLessThan(result.seconds, 30, "\(how) took \(result.seconds) s")
            if how == "throw" { XCTAssertTrue(result.output.contains("rank 1: injected failure"), result.output) }
        }
    }

    /// A rank stuck in a collective its peers never join is aborted by the watchdog, naming the operation.
    func testWatchdogAbortsAStuckCollective() throws {
        let result = try MPIRun.run(ranks: 2, ["selftest", "fail", "--how", "hang", "--failing-rank", "1", "--collective-timeout", "3"], deadline: 60)
        XCTAssertNotEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("no progress for 3 s in all-reduce"), result.output)
        XCTAssertLessThan(result.seconds, 30)
    }
}
