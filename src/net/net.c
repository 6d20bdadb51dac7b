/*
 * net.c - the network context of one sandbox: policy copy, handle table,
 * and connect, the one place where the rules are applied in order:
 *
 *   allow-list (name and port, before any lookup) -> caps -> resolve once ->
 *   every address checked -> connect to those exact addresses -> TLS.
 *
 * Also owns the status names and the error messages. Invariants: a policy is validated completely before
 * anything is copied; the connection counter is charged before the network
 * is touched; a handle is (generation << 8 | slot) with a non-zero
 * generation, so a stale handle never names a newer connection. Secret
 * values live only in this context's copy and in connection buffers, and
 * are wiped when freed; no message ever includes one.
 */
#define _DEFAULT_SOURCE

#include "net/net_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- errors ----------------------------------------------------------------- */

const char *cloche__net_errname(int code)
{
    switch (code) {
    case 0:
        return "OK";
#define CLOCHE__NET_X(name, value, msg)                                        \
    case value:                                                                \
        return #name;
        CLOCHE__NET_ERRORS(CLOCHE__NET_X)
#undef CLOCHE__NET_X
    default:
        return "E?";
    }
}

const char *cloche__net_strerror(int code)
{
    switch (code) {
    case 0:
        return "success";
#define CLOCHE__NET_X(name, value, msg)                                        \
    case value:                                                                \
        return msg;
        CLOCHE__NET_ERRORS(CLOCHE__NET_X)
#undef CLOCHE__NET_X
    default:
        return "unknown network status";
    }
}

int cloche__net_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

int cloche__net_set_error(cloche__net *n, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(n->errmsg, sizeof n->errmsg, fmt, ap);
    va_end(ap);
    return code;
}

int cloche__net_note(cloche__net *n, int code, const char *msg)
{
    return n ? cloche__net_set_error(n, code, "%s", msg) : code;
}

const char *cloche__net_errmsg(const cloche__net *n)
{
    return n ? n->errmsg : "";
}

/* ---- policy ------------------------------------------------------------------ */

static int valid_name(const char *s)
{
    size_t nl = s ? strnlen(s, CLOCHE__NET_MAX_NAME + 1) : 0;
    return nl > 0 && nl <= CLOCHE__NET_MAX_NAME &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789_") == nl;
}

static int check_rules(const cloche__net_rule *r, size_t nr, size_t max,
                       const char *what, char *err, size_t errlen)
{
    if (nr > max || (nr && !r))
        return cloche__net_fail(err, errlen, CLOCHE__NET_EINVAL,
                                "%s: %zu rules (at most %zu)", what, nr, max);
    for (size_t i = 0; i < nr; i++) {
        cloche__net_crule c;
        if (cloche__net_rule_compile(&c, r[i].host_pattern, r[i].port))
            return cloche__net_fail(err, errlen, CLOCHE__NET_EINVAL,
                                    "%s[%zu]: invalid host pattern", what, i);
    }
    return 0;
}

static int check_secret(const cloche__net_secret *s, size_t i, char *err,
                        size_t errlen)
{
    if (!valid_name(s->name))
        return cloche__net_fail(err, errlen, CLOCHE__NET_EINVAL,
                                "secret %zu: name must be 1..64 of [A-Za-z0-9_]",
                                i);
    size_t vl = s->value ? strnlen(s->value, CLOCHE__NET_MAX_VALUE + 1) : 0;
    size_t pl = s->placeholder
                    ? strnlen(s->placeholder, CLOCHE__NET_MAX_PLACEHOLDER + 1)
                    : 0;
    if (vl < CLOCHE__NET_MIN_VALUE || vl > CLOCHE__NET_MAX_VALUE)
        return cloche__net_fail(err, errlen, CLOCHE__NET_EINVAL,
                                "secret %s: value must be 8..16384 bytes",
                                s->name);
    if (pl < CLOCHE__NET_MIN_PLACEHOLDER || pl > CLOCHE__NET_MAX_PLACEHOLDER)
        return cloche__net_fail(err, errlen, CLOCHE__NET_EINVAL,
                                "secret %s: placeholder must be 16..256 bytes",
                                s->name);
    if (s->nhosts == 0)
        return cloche__net_fail(err, errlen, CLOCHE__NET_EINVAL,
                                "secret %s: no hosts", s->name);
    return check_rules(s->hosts, s->nhosts, CLOCHE__NET_MAX_SECRET_HOSTS,
                       "secret hosts", err, errlen);
}

/* Pairs of secrets: scrubbed output must never contain a value, and a
 * placeholder must name one secret unambiguously. */
static int check_pair(const cloche__net_secret *a, const cloche__net_secret *b,
                      char *err, size_t errlen)
{
    if (strstr(a->placeholder, b->value))
        return cloche__net_fail(err, errlen, CLOCHE__NET_EINVAL,
                                "placeholder of %s contains the value of %s",
                                a->name, b->name);
    if (a == b)
        return 0;
    size_t al = strlen(a->placeholder), bl = strlen(b->placeholder);
    if (strncmp(a->placeholder, b->placeholder, al < bl ? al : bl) == 0)
        return cloche__net_fail(err, errlen, CLOCHE__NET_EINVAL,
                                "placeholders of %s and %s overlap", a->name,
                                b->name);
    if (strcmp(a->name, b->name) == 0 || strcmp(a->value, b->value) == 0)
        return cloche__net_fail(err, errlen, CLOCHE__NET_EINVAL,
                                "secrets %s and %s share a name or value",
                                a->name, b->name);
    return 0;
}

int cloche__net_policy_check(const cloche__net_policy *p, char *err,
                             size_t errlen)
{
    if (!p)
        return cloche__net_fail(err, errlen, CLOCHE__NET_EINVAL, "no policy");
    int rc = check_rules(p->allow, p->nallow, CLOCHE__NET_MAX_RULES, "allow",
                         err, errlen);
    if (rc)
        return rc;
    if (p->nsecrets > CLOCHE__NET_MAX_SECRETS || (p->nsecrets && !p->secrets))
        return cloche__net_fail(err, errlen, CLOCHE__NET_EINVAL,
                                "at most %u secrets", CLOCHE__NET_MAX_SECRETS);
    for (size_t i = 0; i < p->nsecrets && rc == 0; i++)
        rc = check_secret(&p->secrets[i], i, err, errlen);
    for (size_t i = 0; i < p->nsecrets && rc == 0; i++)
        for (size_t j = 0; j < p->nsecrets && rc == 0; j++)
            rc = check_pair(&p->secrets[i], &p->secrets[j], err, errlen);
    if (rc == 0 && p->extra_ca_file && strnlen(p->extra_ca_file, 4097) > 4096)
        rc = cloche__net_fail(err, errlen, CLOCHE__NET_EINVAL,
                              "extra_ca_file path too long");
    return rc;
}

static char *dup_str(const char *s)
{
    size_t l = strlen(s);
    char *d = cloche__net_alloc(l + 1);
    if (d)
        memcpy(d, s, l + 1);
    return d;
}

static void free_str(char *s)
{
    if (s)
        cloche__net_wipe(s, strlen(s));
    cloche__net_dealloc(s);
}

static int copy_rules(cloche__net_crule **out, const cloche__net_rule *r,
                      size_t nr)
{
    *out = cloche__net_calloc(nr, sizeof **out);
    if (!*out)
        return CLOCHE__NET_ENOMEM;
    for (size_t i = 0; i < nr; i++)
        (void)cloche__net_rule_compile(&(*out)[i], r[i].host_pattern,
                                       r[i].port); /* checked before */
    return 0;
}

static int copy_secret(cloche__net *n, size_t i, const cloche__net_secret *s)
{
    cloche__net_csecret *c = &n->secrets[i];
    c->name = dup_str(s->name);
    c->value = dup_str(s->value);
    c->placeholder = dup_str(s->placeholder);
    if (!c->name || !c->value || !c->placeholder ||
        copy_rules(&c->hosts, s->hosts, s->nhosts))
        return CLOCHE__NET_ENOMEM;
    c->nhosts = s->nhosts;
    c->value_len = strlen(c->value);
    c->placeholder_len = strlen(c->placeholder);
    n->sub_pats[i] = (cloche__net_pat){(const uint8_t *)c->placeholder,
                                       c->placeholder_len,
                                       (const uint8_t *)c->value, c->value_len};
    n->scrub_pats[i] = (cloche__net_pat){(const uint8_t *)c->value,
                                         c->value_len,
                                         (const uint8_t *)c->placeholder,
                                         c->placeholder_len};
    return 0;
}

static int copy_policy(cloche__net *n, const cloche__net_policy *p)
{
    n->allow_private = p->allow_private != 0;
    n->secrets_allow_plaintext = p->secrets_allow_plaintext != 0;
    n->max_connections = p->max_connections ? p->max_connections
                                            : CLOCHE__NET_DEFAULT_MAX_CONNECTIONS;
    n->max_bytes_out = p->max_bytes_out ? p->max_bytes_out
                                        : CLOCHE__NET_DEFAULT_MAX_BYTES_OUT;
    n->max_bytes_in = p->max_bytes_in ? p->max_bytes_in
                                      : CLOCHE__NET_DEFAULT_MAX_BYTES_IN;
    n->connect_timeout_ms = p->connect_timeout_ms
                                ? p->connect_timeout_ms
                                : CLOCHE__NET_DEFAULT_CONNECT_TIMEOUT_MS;
    n->io_timeout_ms = p->io_timeout_ms ? p->io_timeout_ms
                                        : CLOCHE__NET_DEFAULT_IO_TIMEOUT_MS;
    n->resolve = p->resolve;
    n->resolve_ud = p->resolve_ud;
    if (copy_rules(&n->allow, p->allow, p->nallow))
        return CLOCHE__NET_ENOMEM;
    n->nallow = p->nallow;
    if (p->extra_ca_file && !(n->extra_ca_file = dup_str(p->extra_ca_file)))
        return CLOCHE__NET_ENOMEM;
    n->secrets = cloche__net_calloc(p->nsecrets, sizeof *n->secrets);
    n->sub_pats = cloche__net_calloc(p->nsecrets, sizeof *n->sub_pats);
    n->scrub_pats = cloche__net_calloc(p->nsecrets, sizeof *n->scrub_pats);
    if (!n->secrets || !n->sub_pats || !n->scrub_pats)
        return CLOCHE__NET_ENOMEM;
    n->nsecrets = p->nsecrets;
    for (size_t i = 0; i < p->nsecrets; i++)
        if (copy_secret(n, i, &p->secrets[i]))
            return CLOCHE__NET_ENOMEM;
    uint64_t all = n->nsecrets >= 64 ? ~(uint64_t)0
                                     : ((uint64_t)1 << n->nsecrets) - 1;
    cloche__net_patset_init(&n->scrub_ps, n->scrub_pats, n->nsecrets, all);
    return 0;
}

int cloche__net_new(cloche__net **out, const cloche__net_policy *p)
{
    if (!out)
        return CLOCHE__NET_EINVAL;
    *out = NULL;
    int rc = cloche__net_policy_check(p, NULL, 0);
    if (rc)
        return rc;
    cloche__net *n = cloche__net_calloc(1, sizeof *n);
    if (!n)
        return CLOCHE__NET_ENOMEM;
    n->next_gen = 1;
    rc = copy_policy(n, p);
    if (rc) {
        cloche__net_free(n);
        return rc;
    }
    *out = n;
    return 0;
}

void cloche__net_close_all(cloche__net *n)
{
    if (!n || !n->conns)
        return;
    for (unsigned i = 0; i < CLOCHE__NET_MAX_OPEN; i++)
        if (n->conns[i])
            cloche__net_conn_remove(n, (int)((n->conns[i]->gen << 8) | i));
}

void cloche__net_free(cloche__net *n)
{
    if (!n)
        return;
    cloche__net_close_all(n);
    cloche__net_dealloc(n->conns);
    cloche__net_tls_ctx_free(n->tls);
    for (size_t i = 0; n->secrets && i < n->nsecrets; i++) {
        free_str(n->secrets[i].name);
        free_str(n->secrets[i].value);
        free_str(n->secrets[i].placeholder);
        cloche__net_dealloc(n->secrets[i].hosts);
    }
    cloche__net_dealloc(n->secrets);
    cloche__net_dealloc(n->sub_pats);
    cloche__net_dealloc(n->scrub_pats);
    cloche__net_dealloc(n->allow);
    free_str(n->extra_ca_file);
    cloche__net_wipe(n, sizeof *n);
    cloche__net_dealloc(n);
}

void cloche__net_reset_counters(cloche__net *n)
{
    if (!n)
        return;
    n->used_connections = 0;
    n->used_out = n->used_in = 0;
}

/* ---- handle table --------------------------------------------------------- */

cloche__net_conn *cloche__net_lookup(cloche__net *n, int h)
{
    if (!n || h < 0 || !n->conns)
        return NULL;
    cloche__net_conn *c = n->conns[(unsigned)h & 0xffu];
    return c && c->gen == (unsigned)h >> 8 ? c : NULL;
}

void cloche__net_conn_remove(cloche__net *n, int h)
{
    cloche__net_conn *c = cloche__net_lookup(n, h);
    if (!c)
        return;
    if (c->tls) {
        cloche__net_tls_close_notify(c->tls);
        cloche__net_tls_free(c->tls);
    }
    if (c->fd >= 0)
        close(c->fd);
    cloche__net_http_free(c->http);
    cloche__net_stream_free(&c->out_st);
    cloche__net_stream_free(&c->in_st);
    cloche__net_buf_free(&c->outq);
    cloche__net_buf_free(&c->inq);
    n->conns[(unsigned)h & 0xffu] = NULL;
    cloche__net_wipe(c, sizeof *c);
    cloche__net_dealloc(c);
}

/* A free slot, with a new connection object in it (not yet live). */
static int take_slot(cloche__net *n, cloche__net_conn **out, unsigned *slot)
{
    if (!n->conns) {
        n->conns = cloche__net_calloc(CLOCHE__NET_MAX_OPEN, sizeof *n->conns);
        if (!n->conns)
            return CLOCHE__NET_ENOMEM;
    }
    for (unsigned i = 0; i < CLOCHE__NET_MAX_OPEN; i++) {
        if (n->conns[i])
            continue;
        *out = cloche__net_calloc(1, sizeof **out);
        if (!*out)
            return CLOCHE__NET_ENOMEM;
        (*out)->fd = -1;
        *slot = i;
        return 0;
    }
    return CLOCHE__NET_ELIMIT;
}

/* ---- connect ---------------------------------------------------------------- */

static uint64_t bound_secrets(const cloche__net *n, const cloche__net_host *h,
                              uint16_t port, int tls)
{
    uint64_t mask = 0;
    if (!tls && !n->secrets_allow_plaintext)
        return 0;
    for (size_t i = 0; i < n->nsecrets; i++)
        for (size_t j = 0; j < n->secrets[i].nhosts; j++)
            if (cloche__net_rule_match(&n->secrets[i].hosts[j], h, port))
                mask |= (uint64_t)1 << i;
    return mask;
}

static int check_addrs(const cloche__net *n, const cloche__net_host *h,
                       const struct sockaddr_storage *a, size_t na, char *msg,
                       size_t msglen)
{
    if (n->allow_private)
        return 0;
    for (size_t i = 0; i < na; i++) {
        char why[96], addr[64];
        if (!cloche__net_addr_blocked(&a[i], why, sizeof why))
            continue;
        cloche__net_addr_str(&a[i], addr, sizeof addr);
        return cloche__net_fail(msg, msglen, CLOCHE__NET_EPRIVATE,
                                "%s resolves to %s (%s), which is blocked",
                                h->name, addr, why);
    }
    return 0;
}

/* Resolve, check, TCP, TLS: 0 with c->fd (and c->tls) set, or a status. */
static int open_transport(cloche__net *n, cloche__net_conn *c, int tls,
                          uint64_t dl, char *msg, size_t msglen)
{
    struct sockaddr_storage a[CLOCHE__NET_MAX_ADDRS];
    size_t na = 0;
    int rc = cloche__net_resolve(n->resolve, n->resolve_ud, &c->host, c->port,
                                 dl, a, &na, msg, msglen);
    if (rc == 0)
        rc = check_addrs(n, &c->host, a, na, msg, msglen);
    if (rc == 0 && tls && !n->tls)
        rc = cloche__net_tls_ctx_new(&n->tls, n->extra_ca_file, msg, msglen);
    if (rc)
        return rc;
    for (size_t i = 0; i < na; i++) {
        rc = cloche__net_tcp_connect(&c->fd, &a[i], dl, msg, msglen);
        if (rc == 0 || rc == CLOCHE__NET_ETIMEDOUT)
            break;
    }
    if (rc == 0 && tls)
        rc = cloche__net_tls_connect(&c->tls, n->tls, c->fd, &c->host, dl, msg,
                                     msglen);
    return rc;
}

/* Bind the secrets that apply to c; a connection that carries one speaks
 * HTTP/1.x under the host's eye (http.c). 0 or ENOMEM. */
static int bind_secrets(cloche__net *n, cloche__net_conn *c, int tls)
{
    cloche__net_patset_init(&c->out_ps, n->sub_pats, n->nsecrets,
                            bound_secrets(n, &c->host, c->port, tls));
    c->out_chunk = cloche__net_chunk(&c->out_ps);
    if (c->out_ps.mask == 0 || c->http)
        return 0;
    return cloche__net_http_new(&c->http);
}

static int init_conn(cloche__net *n, cloche__net_conn *c, int tls)
{
    c->in_chunk = cloche__net_chunk(&n->scrub_ps);
    c->outq.max = 4u << 20;
    c->inq.max = 4u << 20;
    return bind_secrets(n, c, tls);
}

static int admit(cloche__net *n, const char *host, uint16_t port,
                 cloche__net_host *h, char *msg, size_t msglen)
{
    if (n->nallow == 0)
        return cloche__net_fail(msg, msglen, CLOCHE__NET_EDENIED,
                                "network access is off (empty allow-list)");
    if (port == 0)
        return cloche__net_fail(msg, msglen, CLOCHE__NET_EINVAL, "port 0");
    if (cloche__net_host_parse(h, host))
        return cloche__net_fail(msg, msglen, CLOCHE__NET_EDENIED,
                                "invalid host name (ASCII names and IP "
                                "literals only)");
    for (size_t i = 0; i < n->nallow; i++)
        if (cloche__net_rule_match(&n->allow[i], h, port))
            return 0;
    return cloche__net_fail(msg, msglen, CLOCHE__NET_EDENIED,
                            "%s port %u is not on the allow-list", h->name,
                            (unsigned)port);
}

int cloche__net_connect(cloche__net *n, const char *host, uint16_t port,
                        int tls, uint64_t deadline_ns, char *err,
                        size_t errlen)
{
    if (!n)
        return cloche__net_fail(err, errlen, CLOCHE__NET_EINVAL, "no context");
    char msg[sizeof n->errmsg] = "";
    cloche__net_host h;
    cloche__net_conn *c = NULL;
    unsigned slot = 0;
    uint64_t dl = cloche__net_deadline(deadline_ns, n->connect_timeout_ms);
    int rc = admit(n, host, port, &h, msg, sizeof msg);
    if (rc == 0 && n->used_connections >= n->max_connections)
        rc = cloche__net_fail(msg, sizeof msg, CLOCHE__NET_ELIMIT,
                              "connection limit (%u per run) reached",
                              n->max_connections);
    if (rc == 0 && (rc = take_slot(n, &c, &slot)) != 0)
        snprintf(msg, sizeof msg, "%s",
                 rc == CLOCHE__NET_ELIMIT ? "too many open connections"
                                          : "out of memory");
    if (rc == 0 && cloche__net_now_ns() >= dl)
        rc = cloche__net_fail(msg, sizeof msg, CLOCHE__NET_ETIMEDOUT,
                              "deadline passed before connecting");
    if (rc == 0) {
        n->used_connections++; /* charged before touching the network */
        c->host = h;
        c->port = port;
        rc = open_transport(n, c, tls != 0, dl, msg, sizeof msg);
    }
    if (rc == 0 && init_conn(n, c, tls != 0))
        rc = cloche__net_fail(msg, sizeof msg, CLOCHE__NET_ENOMEM,
                              "out of memory");
    if (rc) {
        if (c) {
            cloche__net_http_free(c->http);
            cloche__net_tls_free(c->tls);
            if (c->fd >= 0)
                close(c->fd);
            cloche__net_dealloc(c);
        }
        snprintf(n->errmsg, sizeof n->errmsg, "%s", msg);
        return cloche__net_fail(err, errlen, rc, "%s", msg);
    }
    c->gen = n->next_gen;
    n->next_gen = n->next_gen >= 0x7fffffu ? 1 : n->next_gen + 1;
    n->conns[slot] = c;
    return (int)((c->gen << 8) | slot);
}

/* Plain bytes the peer sent that nobody has read yet would be taken for
 * the TLS handshake: look without taking. */
static int unread_in_kernel(const cloche__net_conn *c)
{
    uint8_t b;
    return recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

/* Nothing buffered, held or ended on c: TLS may start on its socket. */
static int idle_open(const cloche__net_conn *c)
{
    return !c->broken && !c->wr_err && !c->wr_shut && !c->rd_eof &&
           !c->rd_done && c->outq.len == c->outq_off &&
           c->inq.len == c->inq_off &&
           cloche__net_stream_pending(&c->out_st) == 0 &&
           cloche__net_stream_held(&c->in_st) == 0 &&
           (!c->http || cloche__net_http_idle(c->http)) &&
           !unread_in_kernel(c);
}

int cloche__net_starttls(cloche__net *n, int h, uint64_t deadline_ns)
{
    cloche__net_conn *c = cloche__net_lookup(n, h);
    if (!c)
        return cloche__net_set_error(n, CLOCHE__NET_EBADF,
                                     "bad connection handle");
    if (c->tls)
        return cloche__net_set_error(n, CLOCHE__NET_EINVAL,
                                     "the connection already uses TLS");
    if (!idle_open(c))
        return cloche__net_set_error(n, CLOCHE__NET_EINVAL,
                                     "TLS can start only on an open "
                                     "connection with nothing buffered "
                                     "(flush first, read everything)");
    char msg[sizeof n->errmsg] = "";
    uint64_t dl = cloche__net_deadline(deadline_ns, n->connect_timeout_ms);
    int rc = 0;
    if (!n->tls)
        rc = cloche__net_tls_ctx_new(&n->tls, n->extra_ca_file, msg,
                                     sizeof msg);
    if (rc == 0)
        rc = cloche__net_tls_connect(&c->tls, n->tls, c->fd, &c->host, dl,
                                     msg, sizeof msg);
    if (rc != 0) {
        c->broken = 1; /* a half-done handshake leaves the stream unusable */
        c->broken_code = rc;
        return cloche__net_set_error(n, rc, "%s", msg);
    }
    /* Secrets bound to this host apply from now on, inside TLS only. */
    if (bind_secrets(n, c, 1) != 0) {
        c->broken = 1;
        c->broken_code = CLOCHE__NET_ENOMEM;
        return cloche__net_set_error(n, CLOCHE__NET_ENOMEM, "out of memory");
    }
    return 0;
}
