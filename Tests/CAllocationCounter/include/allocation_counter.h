#ifndef DAE_ALLOCATION_COUNTER_H
#define DAE_ALLOCATION_COUNTER_H

/* Counts heap allocations (malloc, calloc, realloc, memalign, aligned_alloc, posix_memalign)
 * made by any thread between start and stop: the check behind "a training step allocates
 * nothing". Test-only. With glibc it replaces those functions for the whole test process by
 * thin wrappers around glibc's own (the replacement glibc documents); elsewhere it counts
 * nothing and `supported` says so. */

/* 1 where allocations can be counted (glibc), else 0. */
int dae_allocation_counting_supported(void);

/* Zeroes the count and starts counting. */
void dae_allocation_counting_start(void);

/* Stops counting and returns the allocations since `start`. */
long dae_allocation_counting_stop(void);

#endif
