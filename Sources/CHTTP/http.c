// HTTP downloads on libcurl: the body is taken in the transfer's own thread, and the first
// byte past the limit aborts the transfer there and then (a write callback returning 0), so
// neither a server that sends without end nor one that drips its bytes can take more than
// `limit` bytes of memory or `timeout` seconds.
#include "http.h"
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct body { char *data; size_t size, capacity, limit; int over; };

static size_t take(char *bytes, size_t size, size_t count, void *context) {
    struct body *body = context;
    size_t length = size * count;
    if (length > body->limit - body->size) { body->over = 1; return 0; }  /* past the limit: abort */
    if (body->size + length > body->capacity) {
        size_t capacity = body->capacity ? body->capacity : 65536;
        while (capacity < body->size + length) capacity *= 2;
        if (capacity > body->limit) capacity = body->limit;
        char *grown = realloc(body->data, capacity);
        if (!grown) return 0;
        body->data = grown;
        body->capacity = capacity;
    }
    memcpy(body->data + body->size, bytes, length);
    body->size += length;
    return length;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static void initialize(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

int dae_http_get(const char *url, size_t limit, double timeout, dae_http_result *result) {
    memset(result, 0, sizeof *result);
    pthread_once(&once, initialize);
    CURL *curl = curl_easy_init();
    if (!curl) { strncpy(result->message, "libcurl could not start a transfer", sizeof result->message - 1); return DAE_HTTP_FAILED; }
    struct body body = { NULL, 0, 0, limit, 0 };
    long milliseconds = timeout * 1000 > 1 ? (long)(timeout * 1000) : 1;
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, take);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, milliseconds);          /* the whole transfer */
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, milliseconds);
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)limit); /* refused at once when announced */
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    CURLcode code = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result->status);
    int outcome = DAE_HTTP_OK;
    if (body.over || code == CURLE_FILESIZE_EXCEEDED) {
        outcome = DAE_HTTP_TOO_LARGE;
    } else if (code == CURLE_OPERATION_TIMEDOUT) {
        outcome = DAE_HTTP_TIMED_OUT;
    } else if (code != CURLE_OK) {
        strncpy(result->message, curl_easy_strerror(code), sizeof result->message - 1);
        outcome = DAE_HTTP_FAILED;
    } else if (result->status < 200 || result->status >= 300) {
        outcome = DAE_HTTP_STATUS;
    }
    curl_easy_cleanup(curl);
    if (outcome == DAE_HTTP_OK) {
        result->data = body.data;
        result->size = body.size;
    } else {
        free(body.data);
    }
    return outcome;
}

void dae_http_free(dae_http_result *result) {
    free(result->data);
    result->data = NULL;
    result->size = 0;
}
