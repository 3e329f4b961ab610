#define _GNU_SOURCE
#include "processors.h"

#ifdef __linux__
#include <sched.h>

int dae_processors_allowed(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return -1;
    return CPU_COUNT(&set);
}
#else
int dae_processors_allowed(void) { return -1; }
#endif
