#ifndef DAE_PROCESSORS_H
#define DAE_PROCESSORS_H

/* How many processors this process may run on (its CPU affinity mask), or -1 where the
 * system does not say. mpirun binds each rank to one core unless told otherwise. */
int dae_processors_allowed(void);

#endif
