// OpenBLAS's C interface: `cblas_sgemm` and `openblas_set_num_threads`.
#include <cblas.h>
