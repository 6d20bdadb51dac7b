/*
 * net.h - the host side of guest networking, engine-free.
 *
 * The guest has no sockets of its own: its `socket`/`ssl` modules are shims
 * over cloche host imports, and those imports call the functions below. The
 * host opens TCP (and TLS) connections on the guest's behalf, but only to
 * hosts on the allow-list, only to addresses that pass the private-range
 * check (after resolution, and to the very address that was checked), and
 * within per-run caps on connections and bytes. Secrets are substituted for
 * their placeholders on the way out (only towards the hosts they are bound
 * to, only inside HTTP request header values) and scrubbed on the way in
 * (after HTTP framing is undone). docs/network.md has the rules.
 *
 * Deadlines: every call that may wait takes `deadline_ns`, an absolute
 * CLOCK_MONOTONIC time in nanoseconds (cloche__net_now_ns() is that clock).
 * CLOCHE__NET_NO_DEADLINE means "none"; a deadline at or before now makes the
 * call non-blocking (it does what it can without waiting, and returns
 * CLOCHE__NET_ETIMEDOUT if it would have to wait). The policy's connect and
 * I/O timeouts are applied on top: a call never waits past
 * min(deadline_ns, now + timeout).
 *
 * Handles are non-negative ints carrying a slot and a generation: a stale
 * (closed) handle is CLOCHE__NET_EBADF, never the connection that reuses
 * its slot.
 *
 * Ownership: cloche__net_new copies the whole policy (strings, rules,
 * secrets); nothing passed in is kept. Buffers returned by
 * cloche__net_scrub are malloc'd and freed by the caller with free().
 *
 * Threads: a cloche__net is used by one thread at a time (the sandbox's);
 * different cloche__net may be used on different threads concurrently.
 * cloche__net_scrub and scrubbers only read the immutable secret table, so
 * they may run on other threads meanwhile (n must outlive them).
 * Name lookups run getaddrinfo on a short-lived helper thread so that the
 * deadline bounds them; a lookup abandoned at its deadline finishes (and
 * frees itself) in the background. The resolver hook, when set, is called
 * on the calling thread.
 */
#ifndef CLOCHE_NET_H
#define CLOCHE_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* X(name, value, message): the status codes of this module, all negative. */
#define CLOCHE__NET_ERRORS(X)                                                  \
    X(EDENIED, -1, "host or port not on the allow-list")                      \
    X(EPRIVATE, -2, "address is private, loopback or otherwise blocked")      \
    X(ERESOLVE, -3, "name resolution failed")                                 \
    X(ECONNREFUSED, -4, "connection refused")                                 \
    X(ETIMEDOUT, -5, "timed out")                                             \
    X(ETLS, -6, "TLS handshake or certificate verification failed")          \
    X(ELIMIT, -7, "network limit reached (connections or bytes)")            \
    X(EBADF, -8, "bad connection handle")                                     \
    X(ECLOSED, -9, "connection closed or reset")                              \
    X(ENOMEM, -10, "out of memory")                                           \
    X(EIO, -11, "network I/O error")                                          \
    X(EINVAL, -12, "invalid argument")

enum cloche__net_status {
#define CLOCHE__NET_X(name, value, msg) CLOCHE__NET_##name = (value),
    CLOCHE__NET_ERRORS(CLOCHE__NET_X)
#undef CLOCHE__NET_X
};

/** "EDENIED" for CLOCHE__NET_EDENIED, "OK" for 0, "E?" if unknown. Static. */
const char *cloche__net_errname(int code);
/** One-line message for a status code. Static string; thread-safe. */
const char *cloche__net_strerror(int code);

#define CLOCHE__NET_NO_DEADLINE UINT64_MAX

/* Defaults used when a policy field is 0; UINT32_MAX/UINT64_MAX = no cap. */
#define CLOCHE__NET_DEFAULT_MAX_CONNECTIONS 64u
#define CLOCHE__NET_DEFAULT_MAX_BYTES_OUT (64ull << 20)
#define CLOCHE__NET_DEFAULT_MAX_BYTES_IN (256ull << 20)
#define CLOCHE__NET_DEFAULT_CONNECT_TIMEOUT_MS 10000u
#define CLOCHE__NET_DEFAULT_IO_TIMEOUT_MS 30000u

/* Hard bounds checked by cloche__net_new (CLOCHE__NET_EINVAL beyond). */
#define CLOCHE__NET_MAX_RULES 1024u
#define CLOCHE__NET_MAX_SECRETS 64u
#define CLOCHE__NET_MAX_SECRET_HOSTS 64u
#define CLOCHE__NET_MIN_VALUE 8u
#define CLOCHE__NET_MAX_VALUE 16384u
#define CLOCHE__NET_MIN_PLACEHOLDER 16u
#define CLOCHE__NET_MAX_PLACEHOLDER 256u
#define CLOCHE__NET_MAX_NAME 64u
#define CLOCHE__NET_MAX_OPEN 256u /* connections open at once */

typedef struct cloche__net cloche__net; /* one per sandbox */

/**
 * One allow-list entry. host_pattern: an exact name ("api.example.com"), a
 * wildcard ("*.example.com": any subdomain at any depth, not the apex) or an
 * IP literal ("203.0.113.7", "2001:db8::1", no brackets); matched ASCII
 * case-insensitively, one trailing dot ignored. port 0 = any port.
 */
typedef struct cloche__net_rule {
    const char *host_pattern;
    uint16_t port;
} cloche__net_rule;

/**
 * A secret the guest may use without seeing it. The guest is given
 * `placeholder`; bytes it sends to a host matching one of `hosts` have each
 * placeholder replaced by `value`, and every byte it receives (from any
 * host) has each `value` replaced by `placeholder`.
 */
typedef struct cloche__net_secret {
    const char *name;        /* [A-Za-z0-9_], 1..64 chars, e.g. "API_KEY" */
    const char *value;       /* the real secret, 8..16384 bytes, no NUL */
    const char *placeholder; /* what the guest sees, 16..256 bytes */
    const cloche__net_rule *hosts; /* where it may be substituted (1..64) */
    size_t nhosts;
} cloche__net_secret;

/**
 * Resolver hook: fill out[0..max) with up to max addresses for host (a
 * normalized DNS name, never an IP literal), set *n, return 0, or return
 * non-zero on failure. Only the family and address of each entry are used.
 */
typedef int (*cloche__net_resolve_fn)(void *ud, const char *host,
                                      struct sockaddr_storage *out, size_t max,
                                      size_t *n);

typedef struct cloche__net_policy {
    const cloche__net_rule *allow; /* empty: network off */
    size_t nallow;
    int allow_private; /* 1: skip the blocked-address check entirely */
    uint32_t max_connections;             /* per run; 0: default */
    uint64_t max_bytes_out, max_bytes_in; /* per run, guest-visible; 0: default */
    uint64_t connect_timeout_ms; /* resolve + TCP + TLS handshake; 0: default */
    uint64_t io_timeout_ms;      /* each send/recv; 0: default */
    const char *extra_ca_file; /* PEM, trusted besides the system store */
    const cloche__net_secret *secrets;
    size_t nsecrets;
    /* 0 (default): secrets are substituted only inside verified TLS
     * connections; 1: also over plain TCP. */
    int secrets_allow_plaintext;
    cloche__net_resolve_fn resolve; /* NULL: getaddrinfo */
    void *resolve_ud;
} cloche__net_policy;

/**
 * Check a policy without building anything: 0, or CLOCHE__NET_EINVAL with
 * the reason in err (bad pattern, secret out of bounds, a placeholder that
 * is a prefix of another...). err may be NULL.
 */
int cloche__net_policy_check(const cloche__net_policy *p, char *err,
                             size_t errlen);

/**
 * Create the network context of one sandbox from a policy, which is copied
 * (nothing of p is kept). Returns 0 and *out, CLOCHE__NET_EINVAL for a
 * malformed policy (cloche__net_policy_check tells why) or ENOMEM.
 */
int cloche__net_new(cloche__net **out, const cloche__net_policy *p);

/** Close every connection (without waiting) and free n. NULL is fine. */
void cloche__net_free(cloche__net *n);

/** Start a new run: zero the connection and byte counters. */
void cloche__net_reset_counters(cloche__net *n);

/** Close every open connection without waiting (e.g. on sandbox reset). */
void cloche__net_close_all(cloche__net *n);

/**
 * The detailed message of the last failure on n (storage inside n, valid
 * until n is freed, overwritten by the next failure). Never contains a
 * secret. "" for NULL.
 */
const char *cloche__net_errmsg(const cloche__net *n);

/**
 * Record msg (a fixed text: never a secret) as the last failure on n and
 * return code: for callers that refuse a request before it reaches the
 * core (a host name with a NUL, a bad argument), so that
 * cloche__net_errmsg never tells of an earlier failure. n may be NULL.
 */
int cloche__net_note(cloche__net *n, int code, const char *msg);

/** CLOCK_MONOTONIC now, in nanoseconds: the clock of every deadline. */
uint64_t cloche__net_now_ns(void);

/** min(deadline_ns, now + timeout_ms), saturating; a timeout too large to
 *  represent leaves deadline_ns as it is. */
uint64_t cloche__net_deadline(uint64_t deadline_ns, uint64_t timeout_ms);

/**
 * Open a connection to host:port, with TLS if `tls`. Checks the allow-list,
 * resolves (once), refuses if ANY resolved address is blocked (unless
 * allow_private), then connects to the checked addresses in order. TLS: SNI
 * and hostname verification against `host`, system CAs plus extra_ca_file,
 * TLS >= 1.2. Waits at most until min(deadline_ns, now +
 * connect_timeout_ms) for resolution, TCP and the handshake together.
 * Returns a handle >= 0, or a negative status with a message in err (may be
 * NULL) and in cloche__net_errmsg. A call that passed the allow-list counts
 * against max_connections whether or not it succeeds.
 */
int cloche__net_connect(cloche__net *n, const char *host, uint16_t port,
                        int tls, uint64_t deadline_ns, char *err,
                        size_t errlen);

/**
 * Start TLS on an open plain connection (STARTTLS, or a socket wrapped
 * after connecting): handshake with SNI and verification for the host it
 * was opened to, within min(deadline_ns, now + connect_timeout_ms). The
 * connection must be idle: nothing queued or held for sending (flush
 * first), nothing received but unread, neither side shut. Secrets bound to
 * the host apply from then on. Returns 0, EBADF, EINVAL (already TLS, or
 * not idle), ETLS, ETIMEDOUT, ENOMEM; after a failed handshake the
 * connection is broken (close it).
 */
int cloche__net_starttls(cloche__net *n, int h, uint64_t deadline_ns);

/**
 * Send up to len bytes; *sent = bytes of data consumed (short only when the
 * byte cap or the deadline cut it). A connection that carries a secret
 * (its host and port match a secret's rules, and it is TLS unless
 * secrets_allow_plaintext) takes HTTP/1.x requests only: each head is held
 * until complete, checked, and sent with the bound secrets' placeholders
 * replaced by their values inside header values (docs/network.md); recv,
 * poll, flush, shutdown or close release a partial head unchanged. Other
 * connections pass bytes unchanged. Counts consumed bytes against
 * max_bytes_out. Waits up to min(deadline_ns, now + io_timeout_ms).
 * Returns 0 (possibly with *sent < len), CLOCHE__NET_ETIMEDOUT if nothing
 * could be sent, EDENIED (a request the host will not carry a secret in;
 * the write side is over), ELIMIT, ECLOSED (after shutdown for writing, or
 * peer reset), EBADF, ETLS, EIO, ENOMEM.
 */
int cloche__net_send(cloche__net *n, int h, const uint8_t *data, size_t len,
                     uint64_t deadline_ns, size_t *sent);

/**
 * Receive up to cap bytes into buf; *got = 0 with return 0 means orderly
 * EOF (or cap == 0). Every secret value is replaced by its placeholder,
 * also across reads: a tail that may begin a value is held back until more
 * data, EOF, or - for a held tail shorter than 4 bytes only - a 20 ms lull
 * (docs/network.md, "Secrets"). On a connection that carries a secret,
 * responses are parsed: heads scrubbed whole, bodies de-chunked, scrubbed
 * and re-chunked, coded bodies refused. First releases any held send tail.
 * Counts delivered bytes against max_bytes_in. Waits up to min(deadline_ns,
 * now + io_timeout_ms). Returns 0, ETIMEDOUT, ELIMIT, ECLOSED, EBADF, ETLS,
 * EDENIED (a response refused), EIO (also a malformed response), ENOMEM.
 */
int cloche__net_recv(cloche__net *n, int h, uint8_t *buf, size_t cap,
                     uint64_t deadline_ns, size_t *got);

/**
 * Release the held send tail and write everything queued, waiting up to
 * min(deadline_ns, now + io_timeout_ms). The socket shim calls it before
 * waiting on anything other than this library (poll does it itself).
 */
int cloche__net_flush(cloche__net *n, int h, uint64_t deadline_ns);

/**
 * how: SHUT_RD, SHUT_WR or SHUT_RDWR. Shutting the write side first flushes
 * (waiting up to io_timeout_ms) and, for TLS, sends close_notify. Returns 0,
 * EBADF, EINVAL, ETIMEDOUT (the flush did not finish; the side is shut
 * anyway), ECLOSED.
 */
int cloche__net_shutdown(cloche__net *n, int h, int how);

/**
 * Flush (waiting at most min(io_timeout_ms, 1 s)), close and forget the
 * connection. Returns 0 or EBADF; the handle is invalid afterwards.
 */
int cloche__net_close(cloche__net *n, int h);

/* Poll flags (events and revents). ERR, HUP, NVAL are reported always. */
#define CLOCHE__NET_POLLIN 0x1u
#define CLOCHE__NET_POLLOUT 0x2u
#define CLOCHE__NET_POLLERR 0x4u
#define CLOCHE__NET_POLLHUP 0x8u
#define CLOCHE__NET_POLLNVAL 0x10u

typedef struct cloche__net_pollfd {
    int handle;
    unsigned events;  /* POLLIN | POLLOUT */
    unsigned revents; /* set by cloche__net_poll */
} cloche__net_pollfd;

/**
 * Wait until one of the connections is ready or deadline_ns (no I/O timeout
 * is added: pass min(run deadline, select timeout)); a deadline in the past
 * only checks. Readiness accounts for bytes buffered here (scrubbed data
 * waiting for the guest, held tails). A TLS connection may be reported
 * readable and then yield nothing before its deadline (a record still
 * incomplete, a session ticket), as with a non-blocking SSL socket.
 * Releases held send tails and writes queued data as it goes. *nready =
 * entries with a non-zero revents. Returns 0, EINVAL (nfds >
 * CLOCHE__NET_MAX_OPEN), EIO.
 */
int cloche__net_poll(cloche__net *n, cloche__net_pollfd *fds, size_t nfds,
                     uint64_t deadline_ns, size_t *nready);

/**
 * Copy in[0..len) to a new malloc'd buffer (*out, free() it) with every
 * secret value replaced by its placeholder (leftmost, then longest match).
 * *out is never NULL on success, even for len 0. Returns 0, ENOMEM, EINVAL
 * (the result would not fit in size_t). n may have no secrets.
 */
int cloche__net_scrub(const cloche__net *n, const uint8_t *in, size_t len,
                      uint8_t **out, size_t *out_len);

/** Streaming scrub (live output): values split across feeds are caught. */
typedef struct cloche__net_scrubber cloche__net_scrubber;

/** New streaming scrubber over n's secrets; n must outlive it. */
int cloche__net_scrubber_new(cloche__net_scrubber **out, const cloche__net *n);

/**
 * Feed a chunk; *out (borrowed, valid until the next call on s) gets the
 * scrubbed bytes that are final so far. A tail that may begin a value is
 * held until the next feed or finish. Returns 0 or ENOMEM.
 */
int cloche__net_scrubber_feed(cloche__net_scrubber *s, const uint8_t *in,
                              size_t len, const uint8_t **out,
                              size_t *out_len);

/** Release the held tail (scrubbed) into *out (borrowed as above). */
int cloche__net_scrubber_finish(cloche__net_scrubber *s, const uint8_t **out,
                                size_t *out_len);

/** Free a scrubber (its buffers are wiped first). NULL is fine. */
void cloche__net_scrubber_free(cloche__net_scrubber *s);

/**
 * Write "CLOCHE_SECRET_<NAME>_<32 lowercase hex chars from getrandom>" and a
 * NUL into out. name: [A-Za-z0-9_], 1..64 chars. Returns 0, EINVAL (bad name
 * or cap too small: the result needs 14 + strlen(name) + 1 + 32 + 1 bytes),
 * EIO (no CSPRNG).
 */
int cloche__net_make_placeholder(char *out, size_t cap, const char *name);

#endif
