#include "mpi_shim.h"

#include <mpi.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_REQUESTS 256
static MPI_Request requests[MAX_REQUESTS];
static int in_use[MAX_REQUESTS];

int dae_mpi_launched(void) {
    return getenv("OMPI_COMM_WORLD_SIZE") != NULL || getenv("PMI_SIZE") != NULL || getenv("PMIX_RANK") != NULL;
}

int dae_mpi_init(int *rank, int *size, int *node_size, int *node_rank) {
    int provided = 0;
    int status = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    if (status != MPI_SUCCESS) return status;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    for (int i = 0; i < MAX_REQUESTS; i++) in_use[i] = 0;
    status = MPI_Comm_rank(MPI_COMM_WORLD, rank);
    if (status != MPI_SUCCESS) return status;
    status = MPI_Comm_size(MPI_COMM_WORLD, size);
    if (status != MPI_SUCCESS) return status;
    MPI_Comm node;
    status = MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, *rank, MPI_INFO_NULL, &node);
    if (status != MPI_SUCCESS) return status;
    status = MPI_Comm_size(node, node_size);
    if (status == MPI_SUCCESS) status = MPI_Comm_rank(node, node_rank);
    MPI_Comm_free(&node);
    return status;
}

int dae_mpi_initialized(void) {
    int flag = 0, finalized = 0;
    MPI_Initialized(&flag);
    MPI_Finalized(&finalized);
    return flag && !finalized;
}

int dae_mpi_finalize(void) { return MPI_Finalize(); }

static int take_slot(int *request) {
    for (int i = 0; i < MAX_REQUESTS; i++) {
        if (!in_use[i]) {
            in_use[i] = 1;
            *request = i;
            return MPI_SUCCESS;
        }
    }
    return DAE_MPI_NO_SLOT;
}

static int start(int status, int slot) {
    if (status != MPI_SUCCESS) in_use[slot] = 0;
    return status;
}

int dae_mpi_iallreduce_float_sum(float *buffer, int count, int *request) {
    int status = take_slot(request);
    if (status != MPI_SUCCESS) return status;
    return start(MPI_Iallreduce(MPI_IN_PLACE, buffer, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &requests[*request]), *request);
}

int dae_mpi_iallreduce_double_sum(double *buffer, int count, int *request) {
    int status = take_slot(request);
    if (status != MPI_SUCCESS) return status;
    return start(MPI_Iallreduce(MPI_IN_PLACE, buffer, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD, &requests[*request]), *request);
}

int dae_mpi_ibcast(void *buffer, int bytes, int root, int *request) {
    int status = take_slot(request);
    if (status != MPI_SUCCESS) return status;
    return start(MPI_Ibcast(buffer, bytes, MPI_BYTE, root, MPI_COMM_WORLD, &requests[*request]), *request);
}

int dae_mpi_ibarrier(int *request) {
    int status = take_slot(request);
    if (status != MPI_SUCCESS) return status;
    return start(MPI_Ibarrier(MPI_COMM_WORLD, &requests[*request]), *request);
}

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int dae_mpi_wait(int request, double timeout_seconds, double spin_seconds) {
    if (request < 0 || request >= MAX_REQUESTS || !in_use[request]) return MPI_ERR_REQUEST;
    double start = now_seconds();
    double deadline = start + timeout_seconds, spin_until = start + spin_seconds;
    int done = 0, spinning = spin_seconds > 0;
    unsigned polls = 0;
    while (!done) {
        int status = MPI_Test(&requests[request], &done, MPI_STATUS_IGNORE);
        if (status != MPI_SUCCESS) {
            in_use[request] = 0;
            return status;
        }
        if (done) break;
        polls++;
        if ((polls & 63) != 0) continue;
        double now = now_seconds();
        if (timeout_seconds > 0 && now > deadline) return DAE_MPI_TIMEOUT;
        if (spinning && now < spin_until) {
            // Costs about a microsecond when nothing else wants this core; when a rank shares
            // it unnoticed (simulated nodes on one machine), the other rank runs instead.
            sched_yield();
            continue;
        }
        spinning = 0;
        // Yield the core between polls: with more ranks than cores, a spinning rank would
        // starve the one it is waiting for. (A sleep lasts ~70 us with the kernel's timer
        // slack, so a collective polled this way takes that much longer to complete.)
        struct timespec pause = {0, 20000};
        nanosleep(&pause, NULL);
    }
    in_use[request] = 0;
    return MPI_SUCCESS;
}

void dae_mpi_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }

void dae_mpi_error_string(int code, char *buffer, int length) {
    if (code == DAE_MPI_TIMEOUT) {
        strncpy(buffer, "timed out", (size_t)length);
    } else if (code == DAE_MPI_NO_SLOT) {
        strncpy(buffer, "too many collectives in flight", (size_t)length);
    } else {
        int written = 0;
        char text[MPI_MAX_ERROR_STRING];
        if (MPI_Error_string(code, text, &written) != MPI_SUCCESS) written = 0;
        text[written < MPI_MAX_ERROR_STRING ? written : MPI_MAX_ERROR_STRING - 1] = '\0';
        strncpy(buffer, text, (size_t)length);
    }
    if (length > 0) buffer[length - 1] = '\0';
}
