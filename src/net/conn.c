/*
 * conn.c - the clock, deadlines and plain non-blocking TCP.
 *
 * Owns the only places that wait: cloche__net_wait_fd (poll(2) until an
 * absolute CLOCK_MONOTONIC deadline, restarted on EINTR with the time that
 * is left) and the connect wait built on it. Sockets are created
 * non-blocking and close-on-exec; writes use MSG_NOSIGNAL so a peer that
 * went away is an error code, never a SIGPIPE in the embedding process.
 *
 * It connects to exactly the sockaddr it is given - it never resolves.
 */
#define _DEFAULT_SOURCE

#include "net/net_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

uint64_t cloche__net_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t cloche__net_deadline(uint64_t deadline_ns, uint64_t timeout_ms)
{
    if (timeout_ms >= UINT64_MAX / 1000000u)
        return deadline_ns;
    uint64_t now = cloche__net_now_ns();
    uint64_t t = timeout_ms * 1000000u;
    uint64_t local = now > UINT64_MAX - t ? UINT64_MAX : now + t;
    return local < deadline_ns ? local : deadline_ns;
}

/* Milliseconds until deadline for poll(2), rounded up, capped; 0 if past. */
static int poll_ms(uint64_t deadline_ns)
{
    if (deadline_ns == CLOCHE__NET_NO_DEADLINE)
        return -1;
    uint64_t now = cloche__net_now_ns();
    if (deadline_ns <= now)
        return 0;
    uint64_t ms = (deadline_ns - now + 999999u) / 1000000u;
    return ms > 60000u ? 60000 : (int)ms; /* longer waits loop */
}

int cloche__net_wait_fd(int fd, short events, uint64_t deadline_ns)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events, .revents = 0};
        int ms = poll_ms(deadline_ns);
        int rc = poll(&p, 1, ms);
        if (rc > 0)
            return p.revents ? p.revents : POLLERR;
        if (rc < 0 && errno != EINTR)
            return CLOCHE__NET_EIO;
        if (rc == 0 && ms == 0)
            return 0;
        if (rc == 0 && cloche__net_now_ns() >= deadline_ns)
            return 0;
    }
}

int cloche__net_errno_status(int e)
{
    switch (e) {
    case ECONNREFUSED:
        return CLOCHE__NET_ECONNREFUSED;
    case ETIMEDOUT:
        return CLOCHE__NET_ETIMEDOUT;
    case ECONNRESET:
    case EPIPE:
    case ECONNABORTED:
    case ENOTCONN:
    case ESHUTDOWN:
        return CLOCHE__NET_ECLOSED;
    case ENOMEM:
    case ENOBUFS:
        return CLOCHE__NET_ENOMEM;
    default:
        return CLOCHE__NET_EIO;
    }
}

int cloche__net_tcp_connect(int *fd, const struct sockaddr_storage *sa,
                            uint64_t deadline_ns, char *err, size_t errlen)
{
    char addr[64];
    cloche__net_addr_str(sa, addr, sizeof addr);
    socklen_t len = sa->ss_family == AF_INET ? sizeof(struct sockaddr_in)
                                             : sizeof(struct sockaddr_in6);
    int s = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                   IPPROTO_TCP);
    if (s < 0)
        return cloche__net_fail(err, errlen, cloche__net_errno_status(errno),
                                "socket: %s", strerror(errno));
    int one = 1;
    (void)setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int e = 0;
    if (connect(s, (const struct sockaddr *)sa, len) != 0) {
        e = errno;
        if (e == EINPROGRESS || e == EINTR) {
            int ev = cloche__net_wait_fd(s, POLLOUT, deadline_ns);
            if (ev == 0) {
                close(s);
                return cloche__net_fail(err, errlen, CLOCHE__NET_ETIMEDOUT,
                                        "connect to %s timed out", addr);
            }
            socklen_t el = sizeof e;
            if (ev < 0 || getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &el) != 0)
                e = EIO;
        }
    }
    if (e != 0) {
        close(s);
        int code = cloche__net_errno_status(e);
        if (code == CLOCHE__NET_ECLOSED)
            code = CLOCHE__NET_ECONNREFUSED;
        return cloche__net_fail(err, errlen, code, "connect to %s: %s", addr,
                                strerror(e));
    }
    *fd = s;
    return 0;
}

int cloche__net_tcp_send(int fd, const uint8_t *p, size_t len, size_t *n)
{
    *n = 0;
    for (;;) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
        if (w >= 0) {
            *n = (size_t)w;
            return w > 0 || len == 0 ? 0 : CLOCHE__NET_WANT_WRITE;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return CLOCHE__NET_WANT_WRITE;
        return cloche__net_errno_status(errno);
    }
}

int cloche__net_tcp_recv(int fd, uint8_t *p, size_t cap, size_t *n)
{
    *n = 0;
    for (;;) {
        ssize_t r = recv(fd, p, cap, 0);
        if (r >= 0) {
            *n = (size_t)r;
            return 0;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return CLOCHE__NET_WANT_READ;
        return cloche__net_errno_status(errno);
    }
}
