import DAECore
import MPIShim

/// The communicator for this process: MPI when started by an MPI launcher, otherwise one
/// rank with no MPI calls at all (plain `dae-dist` on a laptop).
public enum Communicators {
    /// `broadcastPiece`: bytes per MPI broadcast call (see `MPICommunicator.broadcastPiece`);
    /// the self-test makes it small to exercise broadcasts in several pieces.
    public static func make(timeout: Double, broadcastPiece: Int? = nil) throws -> Communicator {
        guard launchedByMPI else { return SingleProcessCommunicator() }
        let mpi = try MPICommunicator(timeout: timeout)
        if let broadcastPiece { mpi.broadcastPiece = max(1, broadcastPiece) }
        return mpi
    }

    /// Whether this process was started by an MPI launcher (mpirun, srun): its standard output
    /// then goes through the launcher, so no progress bar is drawn.
    public static var launchedByMPI: Bool { dae_mpi_launched() != 0 }
}
