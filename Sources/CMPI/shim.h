// OpenMPI's C API. Swift cannot import its handle macros (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM);
// the MPIShim target wraps the calls dae-dist makes in plain functions.
#include <mpi.h>
