/*
 * resolve.c - from a checked host to the addresses that will be checked.
 *
 * Owns name resolution: an IP literal is its own address; a name goes to
 * the embedder's hook or to getaddrinfo. getaddrinfo cannot be cancelled
 * and may take many seconds, so it runs on a detached helper thread while
 * the caller waits on a condition variable until its deadline; the lookup
 * state is reference-counted and freed by whichever side lets go last. At
 * most MAX_LOOKUPS helper threads exist process-wide, so a guest that keeps
 * timing out lookups cannot pile up threads.
 *
 * Every address handed out is a fresh, zeroed sockaddr with only family,
 * address and port copied in (no scope id, no flow info, no surprises from
 * the resolver). This module resolves once per connect and never checks:
 * the caller checks exactly what it returns and connects to exactly that.
 */
#define _DEFAULT_SOURCE

#include "net/net_int.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#define MAX_LOOKUPS 32

static atomic_int g_lookups;

/* Copy family + address + port into a zeroed sockaddr; -1 if unusable. */
static int clean_addr(struct sockaddr_storage *dst, const struct sockaddr *src,
                      size_t srclen, uint16_t port)
{
    memset(dst, 0, sizeof *dst);
    if (src->sa_family == AF_INET && srclen >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)src;
        struct sockaddr_in *d = (struct sockaddr_in *)dst;
        d->sin_family = AF_INET;
        d->sin_addr = s->sin_addr;
        d->sin_port = htons(port);
        return 0;
    }
    if (src->sa_family == AF_INET6 && srclen >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)src;
        struct sockaddr_in6 *d = (struct sockaddr_in6 *)dst;
        d->sin6_family = AF_INET6;
        d->sin6_addr = s->sin6_addr;
        d->sin6_port = htons(port);
        return 0;
    }
    return -1;
}

static void literal_addr(struct sockaddr_storage *out, const cloche__net_host *h,
                         uint16_t port)
{
    memset(out, 0, sizeof *out);
    if (h->kind == CLOCHE__NET_HOST_IP4) {
        struct sockaddr_in *d = (struct sockaddr_in *)out;
        d->sin_family = AF_INET;
        memcpy(&d->sin_addr, h->ip, 4);
        d->sin_port = htons(port);
    } else {
        struct sockaddr_in6 *d = (struct sockaddr_in6 *)out;
        d->sin6_family = AF_INET6;
        memcpy(&d->sin6_addr, h->ip, 16);
        d->sin6_port = htons(port);
    }
}

static int via_hook(cloche__net_resolve_fn hook, void *ud,
                    const cloche__net_host *h, uint16_t port,
                    struct sockaddr_storage *out, size_t *n, char *err,
                    size_t errlen)
{
    struct sockaddr_storage tmp[CLOCHE__NET_MAX_ADDRS];
    memset(tmp, 0, sizeof tmp);
    size_t got = 0;
    if (hook(ud, h->name, tmp, CLOCHE__NET_MAX_ADDRS, &got) != 0)
        return cloche__net_fail(err, errlen, CLOCHE__NET_ERESOLVE,
                                "cannot resolve %s", h->name);
    if (got == 0 || got > CLOCHE__NET_MAX_ADDRS)
        return cloche__net_fail(err, errlen, CLOCHE__NET_ERESOLVE,
                                "resolver returned %zu addresses for %s", got,
                                h->name);
    for (size_t i = 0; i < got; i++)
        if (clean_addr(&out[i], (const struct sockaddr *)&tmp[i],
                       sizeof tmp[i], port) != 0)
            return cloche__net_fail(err, errlen, CLOCHE__NET_ERESOLVE,
                                    "resolver returned address family %d",
                                    (int)tmp[i].ss_family);
    *n = got;
    return 0;
}

/* ---- getaddrinfo on a helper thread -------------------------------------- */

typedef struct lookup {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs, done, gai;
    size_t n;
    char host[CLOCHE__NET_HOST_MAX + 1];
    struct sockaddr_storage addrs[CLOCHE__NET_MAX_ADDRS];
} lookup;

static void lookup_unref(lookup *l)
{
    pthread_mutex_lock(&l->mu);
    int last = --l->refs == 0;
    pthread_mutex_unlock(&l->mu);
    if (!last)
        return;
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
    cloche__net_dealloc(l);
}

static void *lookup_main(void *arg)
{
    lookup *l = arg;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(l->host, NULL, &hints, &res);
    size_t n = 0;
    for (struct addrinfo *ai = rc == 0 ? res : NULL;
         ai && n < CLOCHE__NET_MAX_ADDRS; ai = ai->ai_next)
        if (ai->ai_addr && clean_addr(&l->addrs[n], ai->ai_addr,
                                      (size_t)ai->ai_addrlen, 0) == 0)
            n++;
    if (res)
        freeaddrinfo(res);
    pthread_mutex_lock(&l->mu);
    l->gai = rc;
    l->n = n;
    l->done = 1;
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
    lookup_unref(l);
    atomic_fetch_sub(&g_lookups, 1);
    return NULL;
}

static int lookup_init(lookup *l, const char *host)
{
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        return -1;
    int rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(&l->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0)
        return -1;
    if (pthread_mutex_init(&l->mu, NULL) != 0) {
        pthread_cond_destroy(&l->cv);
        return -1;
    }
    l->refs = 2; /* the caller and the helper thread */
    strcpy(l->host, host);
    return 0;
}

static int start_lookup(lookup *l)
{
    pthread_attr_t at;
    if (pthread_attr_init(&at) != 0)
        return -1;
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    int rc = pthread_create(&t, &at, lookup_main, l);
    pthread_attr_destroy(&at);
    return rc == 0 ? 0 : -1;
}

/* Wait for the helper until the deadline; 1 if it finished. */
static int lookup_wait(lookup *l, uint64_t deadline_ns)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(deadline_ns / 1000000000u);
    ts.tv_nsec = (long)(deadline_ns % 1000000000u);
    pthread_mutex_lock(&l->mu);
    while (!l->done) {
        int rc = deadline_ns == CLOCHE__NET_NO_DEADLINE
                     ? pthread_cond_wait(&l->cv, &l->mu)
                     : pthread_cond_timedwait(&l->cv, &l->mu, &ts);
        if (rc == ETIMEDOUT)
            break;
    }
    int done = l->done;
    pthread_mutex_unlock(&l->mu);
    return done;
}

static int via_getaddrinfo(const cloche__net_host *h, uint16_t port,
                           uint64_t deadline_ns, struct sockaddr_storage *out,
                           size_t *n, char *err, size_t errlen)
{
    if (atomic_fetch_add(&g_lookups, 1) >= MAX_LOOKUPS) {
        atomic_fetch_sub(&g_lookups, 1);
        return cloche__net_fail(err, errlen, CLOCHE__NET_ERESOLVE,
                                "too many name lookups in progress");
    }
    lookup *l = cloche__net_calloc(1, sizeof *l);
    if (!l || lookup_init(l, h->name) != 0) {
        cloche__net_dealloc(l);
        atomic_fetch_sub(&g_lookups, 1);
        return cloche__net_fail(err, errlen, CLOCHE__NET_ENOMEM,
                                "cannot start a name lookup");
    }
    if (start_lookup(l) != 0) {
        l->refs = 1;
        lookup_unref(l);
        atomic_fetch_sub(&g_lookups, 1);
        return cloche__net_fail(err, errlen, CLOCHE__NET_ERESOLVE,
                                "cannot start a name lookup thread");
    }
    int rc = 0;
    if (!lookup_wait(l, deadline_ns))
        rc = cloche__net_fail(err, errlen, CLOCHE__NET_ETIMEDOUT,
                              "resolving %s timed out", h->name);
    else if (l->gai != 0 || l->n == 0)
        rc = cloche__net_fail(err, errlen, CLOCHE__NET_ERESOLVE,
                              "cannot resolve %s: %s", h->name,
                              l->gai ? gai_strerror(l->gai) : "no address");
    else {
        for (size_t i = 0; i < l->n; i++) {
            out[i] = l->addrs[i];
            if (out[i].ss_family == AF_INET)
                ((struct sockaddr_in *)&out[i])->sin_port = htons(port);
            else
                ((struct sockaddr_in6 *)&out[i])->sin6_port = htons(port);
        }
        *n = l->n;
    }
    lookup_unref(l);
    return rc;
}

int cloche__net_resolve(cloche__net_resolve_fn hook, void *ud,
                        const cloche__net_host *h, uint16_t port,
                        uint64_t deadline_ns, struct sockaddr_storage *out,
                        size_t *n, char *err, size_t errlen)
{
    *n = 0;
    if (h->kind != CLOCHE__NET_HOST_NAME) {
        literal_addr(&out[0], h, port);
        *n = 1;
        return 0;
    }
    if (hook)
        return via_hook(hook, ud, h, port, out, n, err, errlen);
    return via_getaddrinfo(h, port, deadline_ns, out, n, err, errlen);
}
