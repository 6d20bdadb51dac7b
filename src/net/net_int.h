/*
 * net_int.h - what the files of src/net share and nobody else sees.
 *
 * policy.c   host names, allow-list rules, blocked address ranges
 * resolve.c  IP literals, the resolver hook, getaddrinfo under a deadline
 * conn.c     clock, deadlines, non-blocking TCP, waiting on a descriptor
 * tls.c      the OpenSSL client (context, socket BIO, handshake, I/O)
 * secrets.c  placeholder/value substitution streams and scrubbing
 * http.c     HTTP/1.x framing on connections that carry a secret: shared
 *            parsing and the request side; http_resp.c the response side
 * alloc.c    counted allocation, wiping, the bounded buffer
 * net.c      status names, policy check and copy, handle table, connect
 * io.c       send, recv, flush, shutdown, close, poll
 */
#ifndef CLOCHE_NET_INT_H
#define CLOCHE_NET_INT_H

#include "net/net.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* ---- alloc.c: counted, with failure injection for tests ---------------- */

void *cloche__net_alloc(size_t n);
void *cloche__net_calloc(size_t n, size_t size);
void *cloche__net_realloc(void *p, size_t n);
void cloche__net_dealloc(void *p);
/** Overwrite n bytes with zeros in a way the compiler keeps. */
void cloche__net_wipe(void *p, size_t n);
/** Test support: live blocks from the functions above. */
long cloche__net_alloc_live(void);
/** Test support: the n-th following allocation fails; negative: never. */
void cloche__net_alloc_fail_after(long n);

/** Growable byte buffer with a hard cap; wiped before every free. */
typedef struct cloche__net_buf {
    uint8_t *p;
    size_t len, cap, max;
} cloche__net_buf;

int cloche__net_buf_append(cloche__net_buf *b, const uint8_t *p, size_t n);
/** Drop the first n bytes. */
void cloche__net_buf_consume(cloche__net_buf *b, size_t n);
void cloche__net_buf_free(cloche__net_buf *b);

/** Format into err (if non-NULL) and return code (net.c). */
int cloche__net_fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- policy.c --------------------------------------------------------- */

#define CLOCHE__NET_HOST_MAX 253u /* a DNS name without its trailing dot */

enum { CLOCHE__NET_HOST_NAME = 0, CLOCHE__NET_HOST_IP4, CLOCHE__NET_HOST_IP6 };

/** A guest-supplied host, normalized. */
typedef struct cloche__net_host {
    char name[CLOCHE__NET_HOST_MAX + 1]; /* lowercase; IPs in inet_ntop form */
    int kind;                            /* CLOCHE__NET_HOST_* */
    uint8_t ip[16];                      /* IP4: first 4 bytes */
} cloche__net_host;

/**
 * Normalize and classify host: ASCII only, lowercase, one trailing dot
 * dropped, labels of [a-z0-9_-] 1..63 long, total <= 253, or an IPv4
 * dotted quad / IPv6 literal (no brackets, no zone). Names whose last label
 * is numeric ("127.1", "0x7f.1", "2130706433") are refused: resolvers read
 * them as IPv4 in forms the allow-list never sees. 0 or CLOCHE__NET_EINVAL.
 */
int cloche__net_host_parse(cloche__net_host *out, const char *host);

enum { CLOCHE__NET_RULE_EXACT = 0, CLOCHE__NET_RULE_WILDCARD };

/** A compiled allow-list rule (owned by the cloche__net). */
typedef struct cloche__net_crule {
    cloche__net_host host; /* WILDCARD: the part after "*." */
    int kind;              /* CLOCHE__NET_RULE_* */
    uint16_t port;
} cloche__net_crule;

/** Compile a pattern ("*.x.y", a name, an IP literal). 0 or EINVAL. */
int cloche__net_rule_compile(cloche__net_crule *out, const char *pattern,
                             uint16_t port);
/** 1 if host:port matches the rule. */
int cloche__net_rule_match(const cloche__net_crule *r, const cloche__net_host *h,
                           uint16_t port);

/**
 * 1 if the address is in a blocked range (why gets e.g.
 * "127.0.0.0/8 loopback"), 0 if public. Unknown families are blocked.
 */
int cloche__net_addr_blocked(const struct sockaddr_storage *ss, char *why,
                             size_t whylen);
/** "1.2.3.4" / "2001:db8::1" for messages. */
void cloche__net_addr_str(const struct sockaddr_storage *ss, char *out,
                          size_t cap);

/* ---- resolve.c -------------------------------------------------------- */

#define CLOCHE__NET_MAX_ADDRS 16u

/**
 * Addresses of h (an IP literal gives itself), each a clean sockaddr with
 * only family, address and port set. Waits until deadline_ns at most.
 * 0 (with *n >= 1), ERESOLVE, ETIMEDOUT, ENOMEM.
 */
int cloche__net_resolve(cloche__net_resolve_fn hook, void *ud,
                        const cloche__net_host *h, uint16_t port,
                        uint64_t deadline_ns, struct sockaddr_storage *out,
                        size_t *n, char *err, size_t errlen);

/* ---- conn.c ----------------------------------------------------------- */

/* Internal "would block" results of the transport (never returned out). */
#define CLOCHE__NET_WANT_READ (-1000)
#define CLOCHE__NET_WANT_WRITE (-1001)

/**
 * Wait for events (POLLIN/POLLOUT) on fd until deadline_ns. Returns the
 * revents (> 0), 0 on timeout, or CLOCHE__NET_EIO.
 */
int cloche__net_wait_fd(int fd, short events, uint64_t deadline_ns);
/** Non-blocking TCP connect to exactly *sa; 0 and *fd, or a status. */
int cloche__net_tcp_connect(int *fd, const struct sockaddr_storage *sa,
                            uint64_t deadline_ns, char *err, size_t errlen);
/** One non-blocking send: 0 and *n > 0, WANT_WRITE, or a status. */
int cloche__net_tcp_send(int fd, const uint8_t *p, size_t len, size_t *n);
/** One non-blocking recv: 0 and *n (0 = EOF), WANT_READ, or a status. */
int cloche__net_tcp_recv(int fd, uint8_t *p, size_t cap, size_t *n);
/** Map a socket errno to a status. */
int cloche__net_errno_status(int e);

/* ---- tls.c ------------------------------------------------------------ */

typedef struct cloche__net_tls_ctx cloche__net_tls_ctx; /* one per net */
typedef struct cloche__net_tls cloche__net_tls;         /* one per conn */

int cloche__net_tls_ctx_new(cloche__net_tls_ctx **out, const char *extra_ca,
                            char *err, size_t errlen);
void cloche__net_tls_ctx_free(cloche__net_tls_ctx *c);
/** Client handshake on a connected fd, SNI + verification for h. */
int cloche__net_tls_connect(cloche__net_tls **out, cloche__net_tls_ctx *c,
                            int fd, const cloche__net_host *h,
                            uint64_t deadline_ns, char *err, size_t errlen);
/** Same contract as cloche__net_tcp_send/recv (WANT_READ or WANT_WRITE). */
int cloche__net_tls_send(cloche__net_tls *t, const uint8_t *p, size_t len,
                         size_t *n);
int cloche__net_tls_recv(cloche__net_tls *t, uint8_t *p, size_t cap,
                         size_t *n);
/** Decrypted bytes OpenSSL holds that recv would return at once. */
int cloche__net_tls_pending(const cloche__net_tls *t);
/** Send close_notify without waiting (best effort). */
void cloche__net_tls_close_notify(cloche__net_tls *t);
void cloche__net_tls_free(cloche__net_tls *t);

/* ---- secrets.c -------------------------------------------------------- */

/** One substitution: occurrences of from become to. Borrowed bytes. */
typedef struct cloche__net_pat {
    const uint8_t *from;
    size_t from_len;
    const uint8_t *to;
    size_t to_len;
} cloche__net_pat;

/** The patterns one stream applies (a subset of an array, by bit mask). */
typedef struct cloche__net_patset {
    const cloche__net_pat *pats;
    size_t npats;
    uint64_t mask;       /* bit i: pats[i] applies */
    uint8_t first[32];   /* bitmap of first bytes of applying patterns */
    size_t max_from;     /* longest applying `from` (0: none apply) */
    size_t min_from;     /* shortest applying `from` */
    size_t max_to;       /* longest applying `to` */
} cloche__net_patset;

void cloche__net_patset_init(cloche__net_patset *ps, const cloche__net_pat *pats,
                             size_t npats, uint64_t mask);

/*
 * Bytes a stream may deliver before knowing whether they begin a pattern,
 * when its peer goes quiet (recv only): at most CLOCHE__NET_RELEASE_MAX - 1
 * bytes of any value's start ever reach the guest that way.
 */
#define CLOCHE__NET_RELEASE_MAX 4u
#define CLOCHE__NET_RELEASE_GRACE_MS 20u

/**
 * A substitution stream. pend holds [0, lit) bytes already delivered by a
 * release, which a match may still start in, then [lit, len) bytes held
 * back because they may begin a pattern.
 */
typedef struct cloche__net_stream {
    cloche__net_buf pend;
    size_t lit;
} cloche__net_stream;

/* Flags of cloche__net_stream_feed. */
#define CLOCHE__NET_FEED_FINAL 1  /* also process the held tail */
#define CLOCHE__NET_FEED_CARRY 2  /* FINAL: keep what it released as lit */
#define CLOCHE__NET_FEED_MASK 4   /* FINAL: a held tail of >= RELEASE_MAX
                                     bytes that begins a `from` becomes
                                     that pattern's `to` (values only!) */
#define CLOCHE__NET_FEED_KEEP_LEN 8 /* MASK: such a tail becomes as many
                                       bytes of `to` as it had (at most
                                       all of it): a Content-Length body
                                       keeps its length */

/**
 * Feed len bytes (len <= cloche__net_chunk(ps)) and append the output that
 * is final to out. On failure (ENOMEM) the stream is unusable.
 */
int cloche__net_stream_feed(const cloche__net_patset *ps, cloche__net_stream *s,
                            const uint8_t *in, size_t len, int flags,
                            cloche__net_buf *out);
/** Bytes held back (not delivered yet). */
size_t cloche__net_stream_held(const cloche__net_stream *s);
/** Bytes held plus bytes released that may still begin a match. */
size_t cloche__net_stream_pending(const cloche__net_stream *s);
void cloche__net_stream_free(cloche__net_stream *s);
/** Input chunk size that keeps one feed's output under ~256 KiB. */
size_t cloche__net_chunk(const cloche__net_patset *ps);

/** Scrub a whole buffer with ps (FINAL|MASK), into a malloc'd result. */
int cloche__net_scrub_with(const cloche__net_patset *ps, const uint8_t *in,
                           size_t len, uint8_t **out, size_t *out_len);

/**
 * Replace every match in in[0..len) as one whole buffer (FINAL is implied;
 * add MASK for value -> placeholder) and append the result to out.
 * 0 or ENOMEM (out's cap reached: out may hold part of the result).
 */
int cloche__net_subst_into(const cloche__net_patset *ps, const uint8_t *in,
                           size_t len, int flags, cloche__net_buf *out);
/** The length cloche__net_subst_into would append (SIZE_MAX: overflow). */
size_t cloche__net_subst_count(const cloche__net_patset *ps,
                               const uint8_t *in, size_t len, int flags);

/* ---- http.c, http_resp.c: HTTP/1.x on connections that carry a secret -- */

#define CLOCHE__NET_HTTP_HEAD_MAX (64u << 10)   /* a head or trailer, as sent */
#define CLOCHE__NET_HTTP_REQ_OUT_MAX (1u << 20) /* a request head, substituted */
#define CLOCHE__NET_HTTP_LINE_MAX 4096u         /* a chunk-size line */
#define CLOCHE__NET_HTTP_QUEUE 64u              /* requests awaiting answers */

/** Both directions of one connection's HTTP/1.x exchange (http.c). */
typedef struct cloche__net_http cloche__net_http;

int cloche__net_http_new(cloche__net_http **out);
/** Wipe and free. NULL is fine. */
void cloche__net_http_free(cloche__net_http *h);

/**
 * Guest -> server. Requests are parsed as they arrive; a request head is
 * held until it is complete, checked, and sent with placeholders replaced
 * (ps) inside header values only, Accept-Encoding set to identity. Request
 * lines, bodies and trailers pass unchanged. release: let a partial head go
 * now, unchanged (no substitution for the rest of that head). Appends to
 * out. 0, EDENIED or EINVAL (a request cloche will not send; message in
 * err), ENOMEM.
 */
int cloche__net_http_send(cloche__net_http *h, const cloche__net_patset *ps,
                          const uint8_t *in, size_t len, int release,
                          cloche__net_buf *out, char *err, size_t errlen);
/** Guest bytes held back (a partial request head not yet released). */
size_t cloche__net_http_send_held(const cloche__net_http *h);

/**
 * Server -> guest. Responses are parsed as they arrive: heads and trailers
 * are scrubbed whole, bodies are scrubbed as one stream per response (the
 * chunked framing is decoded first and the scrubbed content re-framed), a
 * response with a content or transfer coding other than identity/chunked
 * is refused; then what passed goes through one more scrub stream, as
 * raw bytes (a value may lie across two parts of the exchange). flags: 0,
 * FINAL|MASK (the transport reached EOF), or FINAL|CARRY (release short
 * held tails after a lull). Appends to out. 0, EDENIED, EIO (malformed
 * response), ENOMEM.
 */
int cloche__net_http_recv(cloche__net_http *h, const cloche__net_patset *ps,
                          const uint8_t *in, size_t len, int flags,
                          cloche__net_buf *out, char *err, size_t errlen);
/** 1 if a scrub stream holds back bytes that may begin a value. */
int cloche__net_http_holding(const cloche__net_http *h);
/** 1 if a lull may release a held tail (one shorter than RELEASE_MAX). */
int cloche__net_http_releasable(const cloche__net_http *h);
/** Bytes received but not yet handed on (partial head, held tails). */
size_t cloche__net_http_recv_held(const cloche__net_http *h);
/** 1 between messages: nothing held, no request awaiting its answer. */
int cloche__net_http_idle(const cloche__net_http *h);

/* ---- net.c: the context and its connections --------------------------- */

typedef struct cloche__net_conn {
    int fd;
    uint32_t gen; /* 0: slot free */
    cloche__net_tls *tls;
    cloche__net_host host;
    uint16_t port;
    unsigned rd_eof : 1;   /* the transport reported EOF */
    unsigned rd_done : 1;  /* EOF delivered (or SHUT_RD): recv returns 0 */
    unsigned wr_shut : 1;  /* shut for writing */
    unsigned broken : 1;   /* fatal read/transport error: all I/O fails */
    int broken_code;
    int wr_err; /* fatal write error (0: none): sends fail, reads go on */
    cloche__net_patset out_ps; /* placeholder -> value, bound secrets only */
    cloche__net_stream out_st;
    cloche__net_buf outq; /* substituted bytes not yet written: [outq_off, len) */
    size_t outq_off;
    size_t out_chunk;
    cloche__net_http *http; /* non-NULL: secrets bound here; HTTP/1.x only */
    cloche__net_stream in_st; /* value -> placeholder, all secrets */
    cloche__net_buf inq;      /* scrubbed bytes for the guest: [inq_off, len) */
    size_t inq_off;
    size_t in_chunk;
    uint64_t hold_since; /* when in_st last held bytes after a read */
} cloche__net_conn;

typedef struct cloche__net_csecret {
    char *name, *value, *placeholder;
    size_t value_len, placeholder_len;
    cloche__net_crule *hosts;
    size_t nhosts;
} cloche__net_csecret;

struct cloche__net {
    cloche__net_crule *allow;
    size_t nallow;
    int allow_private;
    int secrets_allow_plaintext;
    uint32_t max_connections;
    uint64_t max_bytes_out, max_bytes_in;
    uint64_t connect_timeout_ms, io_timeout_ms;
    char *extra_ca_file;
    cloche__net_csecret *secrets;
    size_t nsecrets;
    cloche__net_pat *sub_pats;   /* i: secrets[i] placeholder -> value */
    cloche__net_pat *scrub_pats; /* i: secrets[i] value -> placeholder */
    cloche__net_patset scrub_ps; /* every secret */
    cloche__net_resolve_fn resolve;
    void *resolve_ud;

    uint32_t used_connections;
    uint64_t used_out, used_in;
    cloche__net_conn **conns; /* CLOCHE__NET_MAX_OPEN slots, lazily */
    uint32_t next_gen;
    cloche__net_tls_ctx *tls; /* lazily, at the first TLS connect */
    char errmsg[256];
};

/** The live connection behind handle h, or NULL. */
cloche__net_conn *cloche__net_lookup(cloche__net *n, int h);
/** Record a failure message on n and return code. */
int cloche__net_set_error(cloche__net *n, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/**
 * Close and forget the connection behind h without flushing anything (TLS:
 * one non-blocking close_notify attempt). Wipes its buffers.
 */
void cloche__net_conn_remove(cloche__net *n, int h);

#endif
