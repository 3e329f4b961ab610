#ifndef DAE_HTTP_H
#define DAE_HTTP_H
#include <stddef.h>

/// One HTTP(S) GET through libcurl, bounded in size and time (see http.c).
typedef struct {
    char *data;          /* the body, malloc'd (free with dae_http_free) */
    size_t size;
    long status;         /* the HTTP status, 0 when none came */
    char message[256];   /* libcurl's words for a failure */
} dae_http_result;

enum { DAE_HTTP_OK = 0, DAE_HTTP_TOO_LARGE = 1, DAE_HTTP_TIMED_OUT = 2, DAE_HTTP_FAILED = 3, DAE_HTTP_STATUS = 4 };

/// GETs `url`, keeping at most `limit` bytes of body and taking at most `timeout` seconds in
/// all; returns one of the DAE_HTTP_ codes.
int dae_http_get(const char *url, size_t limit, double timeout, dae_http_result *result);
void dae_http_free(dae_http_result *result);

#endif
