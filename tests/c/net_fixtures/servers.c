/*
 * servers.c - loopback test servers for the src/net tests (servers.h).
 *
 * One acceptor thread per server, one handler thread per connection. The
 * handler owns its socket until it closes it (under the server lock), so
 * srv_stop can shut a socket down to wake a blocked handler without racing
 * a close. Handler threads block SIGPIPE for themselves only. Sockets have
 * 5 s send/receive timeouts and the acceptor gives up
 * after SRV_LIFETIME_MS: a broken test fails, it does not hang.
 */
#define _DEFAULT_SOURCE

#include "servers.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct srv_conn {
    struct srv *s;
    int fd;
    SSL *ssl;
    pthread_t th;
    uint8_t *rx;
    size_t rxlen, rxcap;
    char sni[256];
} srv_conn;

struct srv {
    srv_config cfg;
    int lfd;
    uint16_t port;
    pthread_t acceptor;
    atomic_int stop;
    pthread_mutex_t mu;
    size_t nconns;
    srv_conn conns[SRV_MAX_CONNS];
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void record(srv_conn *c, const uint8_t *p, size_t n)
{
    pthread_mutex_lock(&c->s->mu);
    if (c->rxlen + n > c->rxcap && c->rxlen + n <= (64u << 20)) {
        size_t cap = c->rxcap ? c->rxcap : 4096;
        while (cap < c->rxlen + n)
            cap *= 2;
        uint8_t *q = realloc(c->rx, cap);
        if (q) {
            c->rx = q;
            c->rxcap = cap;
        }
    }
    if (c->rxlen + n <= c->rxcap) {
        memcpy(c->rx + c->rxlen, p, n);
        c->rxlen += n;
    }
    pthread_mutex_unlock(&c->s->mu);
}

static long rd(srv_conn *c, uint8_t *buf, size_t cap)
{
    if (c->ssl)
        return SSL_read(c->ssl, buf, (int)cap);
    for (;;) {
        ssize_t r = recv(c->fd, buf, cap, 0);
        if (r < 0 && errno == EINTR)
            continue;
        return (long)r;
    }
}

static int wr_all(srv_conn *c, const uint8_t *p, size_t len)
{
    while (len) {
        long w = c->ssl ? SSL_write(c->ssl, p, (int)len)
                        : (long)send(c->fd, p, len, MSG_NOSIGNAL);
        if (w <= 0) {
            if (!c->ssl && w < 0 && errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Read (and echo) until EOF, error or stop. */
static void read_loop(srv_conn *c, int echo)
{
    uint8_t buf[16384];
    while (!atomic_load(&c->s->stop)) {
        if (!(c->ssl && SSL_pending(c->ssl) > 0)) {
            struct pollfd p = {.fd = c->fd, .events = POLLIN, .revents = 0};
            int r = poll(&p, 1, 50);
            if (r == 0 || (r < 0 && errno == EINTR))
                continue;
            if (r < 0)
                return;
        }
        long n = rd(c, buf, sizeof buf);
        if (n <= 0)
            return;
        record(c, buf, (size_t)n);
        if (echo && wr_all(c, buf, (size_t)n) != 0)
            return;
    }
}

/* ---- SRV_HTTP --------------------------------------------------------- */

void srv_buf_add(srv_buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *q = realloc(b->p, cap);
        if (!q)
            abort();
        b->p = q;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
}

void srv_buf_printf(srv_buf *b, const char *fmt, ...)
{
    char tmp[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        srv_buf_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static const uint8_t *find(const uint8_t *p, size_t len, const char *s)
{
    size_t sl = strlen(s);
    for (size_t i = 0; i + sl <= len; i++)
        if (memcmp(p + i, s, sl) == 0)
            return p + i;
    return NULL;
}

/* Header value of `name` in head [p, p + len) (case-insensitive), or NULL. */
static const uint8_t *header(const uint8_t *p, size_t len, const char *name)
{
    size_t nl = strlen(name);
    for (const uint8_t *l = p; l && l < p + len;) {
        const uint8_t *e = find(l, (size_t)(p + len - l), "\r\n");
        if (!e)
            return NULL;
        if ((size_t)(e - l) > nl && l[nl] == ':' &&
            strncasecmp((const char *)l, name, nl) == 0) {
            const uint8_t *v = l + nl + 1;
            while (*v == ' ')
                v++;
            return v;
        }
        l = e + 2;
    }
    return NULL;
}

/* Length of the complete request at the start of p, 0 if incomplete. */
static size_t request_len(const uint8_t *p, size_t len)
{
    const uint8_t *e = find(p, len, "\r\n\r\n");
    if (!e)
        return 0;
    size_t head = (size_t)(e - p) + 4, pos = head;
    const uint8_t *te = header(p, head, "Transfer-Encoding");
    const uint8_t *cl = header(p, head, "Content-Length");
    if (te && strncasecmp((const char *)te, "chunked", 7) == 0) {
        for (;;) {
            const uint8_t *l = find(p + pos, len - pos, "\r\n");
            if (!l)
                return 0;
            unsigned long size = strtoul((const char *)p + pos, NULL, 16);
            pos = (size_t)(l - p) + 2;
            if (size == 0) {
                for (;;) { /* trailers up to an empty line */
                    l = find(p + pos, len - pos, "\r\n");
                    if (!l)
                        return 0;
                    int empty = l == p + pos;
                    pos = (size_t)(l - p) + 2;
                    if (empty)
                        return pos;
                }
            }
            if (len - pos < size + 2)
                return 0;
            pos += size + 2;
        }
    }
    size_t body = cl ? strtoul((const char *)cl, NULL, 10) : 0;
    return len - head >= body ? head + body : 0;
}

static void write_pieces(srv_conn *c, const srv_buf *b)
{
    size_t piece = c->s->cfg.piece ? c->s->cfg.piece : b->len;
    for (size_t off = 0; off < b->len; off += piece) {
        size_t n = b->len - off < piece ? b->len - off : piece;
        if (off && c->s->cfg.piece_ms)
            sleep_ms(c->s->cfg.piece_ms);
        if (wr_all(c, b->p + off, n) != 0)
            return;
    }
}

static void http_loop(srv_conn *c)
{
    srv_buf in = {0};
    uint8_t buf[16384];
    while (!atomic_load(&c->s->stop)) {
        size_t rl = request_len(in.p, in.len);
        if (rl) {
            srv_buf out = {0};
            int close_after =
                c->s->cfg.http(c->s->cfg.http_ud, in.p, rl, &out);
            write_pieces(c, &out);
            free(out.p);
            memmove(in.p, in.p + rl, in.len - rl);
            in.len -= rl;
            if (close_after)
                break;
            continue;
        }
        if (!(c->ssl && SSL_pending(c->ssl) > 0)) {
            struct pollfd p = {.fd = c->fd, .events = POLLIN, .revents = 0};
            int r = poll(&p, 1, 50);
            if (r == 0 || (r < 0 && errno == EINTR))
                continue;
            if (r < 0)
                break;
        }
        long n = rd(c, buf, sizeof buf);
        if (n <= 0)
            break;
        record(c, buf, (size_t)n);
        srv_buf_add(&in, buf, (size_t)n);
    }
    free(in.p);
}

static void *handler(void *arg)
{
    srv_conn *c = arg;
    srv *s = c->s;
    /* OpenSSL's socket BIO writes with write(2): keep a SIGPIPE on this
     * server thread (only) from killing the test. The client side - the
     * code under test - keeps the default disposition, so a SIGPIPE there
     * still fails the test. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (c->ssl) {
        if (SSL_accept(c->ssl) != 1)
            goto done;
        const char *sn = SSL_get_servername(c->ssl, TLSEXT_NAMETYPE_host_name);
        pthread_mutex_lock(&s->mu);
        snprintf(c->sni, sizeof c->sni, "%s", sn ? sn : "");
        pthread_mutex_unlock(&s->mu);
    }
    switch (s->cfg.mode) {
    case SRV_CLOSE:
        break;
    case SRV_SCRIPT:
        for (size_t i = 0; i < s->cfg.nscript; i++) {
            if (s->cfg.script[i].delay_ms)
                sleep_ms(s->cfg.script[i].delay_ms);
            if (wr_all(c, s->cfg.script[i].data, s->cfg.script[i].len) != 0)
                goto done;
        }
        if (!s->cfg.close_after_script)
            read_loop(c, 0);
        break;
    case SRV_ECHO:
    case SRV_SILENT:
        read_loop(c, s->cfg.mode == SRV_ECHO);
        break;
    case SRV_HTTP:
        http_loop(c);
        break;
    }
done:
    if (c->ssl && SSL_is_init_finished(c->ssl))
        (void)SSL_shutdown(c->ssl);
    pthread_mutex_lock(&s->mu);
    close(c->fd);
    c->fd = -1;
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void start_conn(srv *s, int fd)
{
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    pthread_mutex_lock(&s->mu);
    srv_conn *c = &s->conns[s->nconns];
    c->s = s;
    c->fd = fd;
    if (s->cfg.tls) {
        c->ssl = SSL_new(s->cfg.tls);
        SSL_set_fd(c->ssl, fd);
    }
    if (pthread_create(&c->th, NULL, handler, c) == 0)
        s->nconns++;
    else {
        close(fd);
        c->fd = -1;
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    pthread_mutex_unlock(&s->mu);
}

static void *acceptor(void *arg)
{
    srv *s = arg;
    uint64_t end = now_ms() + SRV_LIFETIME_MS;
    while (!atomic_load(&s->stop) && now_ms() < end) {
        struct pollfd p = {.fd = s->lfd, .events = POLLIN, .revents = 0};
        if (poll(&p, 1, 20) <= 0)
            continue;
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        if (s->nconns >= SRV_MAX_CONNS) {
            close(fd);
            continue;
        }
        start_conn(s, fd);
    }
    return NULL;
}

static int listen_on(srv *s)
{
    int fam = s->cfg.family ? s->cfg.family : AF_INET;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    if (fam == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof *a;
    }
    s->lfd = socket(fam, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->lfd < 0)
        return -1;
    if (bind(s->lfd, (struct sockaddr *)&ss, len) != 0 ||
        listen(s->lfd, 16) != 0 ||
        getsockname(s->lfd, (struct sockaddr *)&ss, &len) != 0) {
        close(s->lfd);
        s->lfd = -1;
        return -1;
    }
    s->port = ntohs(fam == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                    : ((struct sockaddr_in *)&ss)->sin_port);
    return 0;
}

int srv_start(srv **out, const srv_config *cfg)
{
    srv *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    s->cfg = *cfg;
    s->lfd = -1;
    pthread_mutex_init(&s->mu, NULL);
    if (listen_on(s) != 0 ||
        pthread_create(&s->acceptor, NULL, acceptor, s) != 0) {
        if (s->lfd >= 0)
            close(s->lfd);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return -1;
    }
    *out = s;
    return 0;
}

uint16_t srv_port(const srv *s)
{
    return s->port;
}

size_t srv_accepted(srv *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->nconns;
    pthread_mutex_unlock(&s->mu);
    return n;
}

size_t srv_received(srv *s, size_t i, uint8_t *buf, size_t cap)
{
    pthread_mutex_lock(&s->mu);
    size_t n = i < s->nconns ? s->conns[i].rxlen : 0;
    if (buf && n)
        memcpy(buf, s->conns[i].rx, n < cap ? n : cap);
    pthread_mutex_unlock(&s->mu);
    return n;
}

int srv_wait_received(srv *s, size_t i, size_t len, unsigned timeout_ms)
{
    uint64_t end = now_ms() + timeout_ms;
    while (srv_received(s, i, NULL, 0) < len) {
        if (now_ms() >= end)
            return -1;
        sleep_ms(2);
    }
    return 0;
}

void srv_sni(srv *s, size_t i, char *out, size_t cap)
{
    pthread_mutex_lock(&s->mu);
    snprintf(out, cap, "%s", i < s->nconns ? s->conns[i].sni : "");
    pthread_mutex_unlock(&s->mu);
}

void srv_stop(srv *s)
{
    if (!s)
        return;
    atomic_store(&s->stop, 1);
    pthread_join(s->acceptor, NULL);
    close(s->lfd);
    pthread_mutex_lock(&s->mu);
    size_t n = s->nconns;
    for (size_t i = 0; i < n; i++)
        if (s->conns[i].fd >= 0)
            shutdown(s->conns[i].fd, SHUT_RDWR); /* wake a blocked handler */
    pthread_mutex_unlock(&s->mu);
    for (size_t i = 0; i < n; i++) {
        pthread_join(s->conns[i].th, NULL);
        SSL_free(s->conns[i].ssl);
        free(s->conns[i].rx);
    }
    pthread_mutex_destroy(&s->mu);
    free(s);
}
