#ifndef DAE_MPI_SHIM_H
#define DAE_MPI_SHIM_H

// The MPI calls dae-dist makes, as plain C functions over MPI_COMM_WORLD, because Swift
// cannot import MPI's handle macros. Every function returns MPI_SUCCESS (0) or an MPI error
// code (errors are returned, not fatal: MPI_ERRORS_RETURN is set on the communicator), or
// DAE_MPI_TIMEOUT when a wait gave up.
//
// Non-blocking collectives return a small integer id for their MPI_Request, kept here.

#define DAE_MPI_TIMEOUT (-2)
#define DAE_MPI_NO_SLOT (-3)

/// Whether this process was started by an MPI launcher (mpirun / srun with PMI).
int dae_mpi_launched(void);
/// Initialises MPI; `node_size` is how many ranks share this rank's node (memory).
int dae_mpi_init(int *rank, int *size, int *node_size, int *node_rank);
int dae_mpi_finalize(void);
int dae_mpi_initialized(void);

int dae_mpi_iallreduce_float_sum(float *buffer, int count, int *request);
int dae_mpi_iallreduce_double_sum(double *buffer, int count, int *request);
int dae_mpi_ibcast(void *buffer, int bytes, int root, int *request);
int dae_mpi_ibarrier(int *request);
/// Waits for `request`: polls MPI (yielding the core between rounds) for up to `spin_seconds`, then polls with
/// short sleeps between, so a long wait leaves the core to others; gives up after
/// `timeout_seconds` (<= 0: wait forever).
int dae_mpi_wait(int request, double timeout_seconds, double spin_seconds);

void dae_mpi_abort(int code);
/// MPI's text for an error code, into `buffer` (NUL-terminated).
void dae_mpi_error_string(int code, char *buffer, int length);

#endif
