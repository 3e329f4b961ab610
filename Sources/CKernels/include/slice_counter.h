#ifndef DAE_SLICE_COUNTER_H
#define DAE_SLICE_COUNTER_H

/* The counter compute threads take shard slices from (see DAECore's Parallel.swift): returns
 * the counter's value and adds one, atomically. */
static inline long dae_take_next(long *counter) { return __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED); }

#endif
