/*
 * The cloche.net_* imports: the guest's socket shim (guest/cloche_guest/
 * netshim.py) asks the host to connect, send, receive, poll and close, and
 * the network core (src/net/) does it under the sandbox's policy.
 *
 * Every (ptr, len) from the guest is checked against the memory size
 * before use; the guest is blocked inside the import while the core reads
 * or writes its buffer, so memory cannot grow or move meanwhile.
 *
 * Connecting and starting TLS are not sliced (they are bounded by the
 * connect timeout).
 *
 * Waiting: a call never waits past the run's deadline, nor past the guest's
 * own timeout (timeout_ms >= 0; 0 = do not wait), nor, for a blocking
 * send/recv (timeout_ms < 0), past the policy's I/O timeout. Waits are cut
 * into slices so a cancel from another thread is seen within SLICE_MS;
 * when the run's deadline passes or a cancel arrives, the run is stopped
 * (trap) as any other limit would stop it.
 */
#include <string.h>

#include "internal.h"
#include "net/net.h"

#define SLICE_MS 50u
#define MAX_HOST 253u
#define POLLFD_SIZE 12u /* {i32 handle, u32 events, u32 revents} */
#define STOPPED INT32_MIN /* the run must stop (sb->stop says why) */

static wasm_trap_t *trap(const char *msg) {
    return wasmtime_trap_new(msg, strlen(msg));
}

/* The latest a call may wait until (see the file comment). */
static uint64_t call_deadline(const cloche_sandbox *sb, int64_t timeout_ms,
                              int io) {
    uint64_t until = sb->deadline_ns ? sb->deadline_ns : CLOCHE__NET_NO_DEADLINE;
    if (timeout_ms >= 0)
        return cloche__net_deadline(until, (uint64_t)timeout_ms);
    return io ? cloche__net_deadline(until, sb->net_io_timeout_ms) : until;
}

/* Nonzero (with sb->stop set) when the run is cancelled or out of time. */
static int run_over(cloche_sandbox *sb) {
    if (cloche__hub_cancelled(sb->hub))
        sb->stop = CLOCHE__STOP_CANCELLED;
    else if (sb->deadline_ns && cloche__now_ns() >= sb->deadline_ns)
        sb->stop = CLOCHE__STOP_TIMEOUT;
    return sb->stop != CLOCHE__STOP_NONE;
}

typedef struct io_call {
    int handle;
    uint8_t *buf;
    size_t len;
    int send;
    size_t done;
} io_call;

/* One send or recv, sliced; returns a net status or STOPPED. */
static int sliced_io(cloche_sandbox *sb, io_call *c, uint64_t until) {
    for (;;) {
        uint64_t slice = cloche__net_deadline(until, SLICE_MS);
        int rc = c->send ? cloche__net_send(sb->net, c->handle, c->buf, c->len,
                                            slice, &c->done)
                         : cloche__net_recv(sb->net, c->handle, c->buf, c->len,
                                            slice, &c->done);
        if (rc != CLOCHE__NET_ETIMEDOUT)
            return rc;
        if (run_over(sb))
            return STOPPED;
        if (slice >= until)
            return rc;
    }
}

/* net_connect(host, host_len, port, tls, timeout_ms: i64) -> handle | -err */
static wasm_trap_t *net_connect(void *env, wasmtime_caller_t *caller,
                                wasmtime_val_raw_t *v, size_t n) {
    (void)env, (void)n;
    cloche_sandbox *sb = cloche__caller_sandbox(caller);
    uint32_t len = (uint32_t)v[1].i32, port = (uint32_t)v[2].i32;
    const uint8_t *p = cloche__guest_range(sb, (uint32_t)v[0].i32, len);
    if (!p)
        return trap("cloche.net_connect: out of bounds");
    char host[MAX_HOST + 1];
    if (!sb->net) {
        v[0].i32 = CLOCHE__NET_EDENIED;
        return NULL;
    }
    const char *bad = len == 0           ? "empty host name"
                      : len > MAX_HOST   ? "host name longer than 253 bytes"
                      : memchr(p, 0, len) ? "host name contains a NUL byte"
                      : port > 65535     ? "port out of range"
                                         : NULL;
    if (bad) { /* the message is this call's, not the last connection's */
        v[0].i32 = cloche__net_note(sb->net, CLOCHE__NET_EINVAL, bad);
        return NULL;
    }
    memcpy(host, p, len);
    host[len] = '\0';
    uint64_t until = call_deadline(sb, v[4].i64, 0);
    v[0].i32 = cloche__net_connect(sb->net, host, (uint16_t)port,
                                   v[3].i32 != 0, until, NULL, 0);
    if (v[0].i32 == CLOCHE__NET_ETIMEDOUT && run_over(sb))
        return trap("cloche: stopped");
    return NULL;
}

/* net_starttls(h, timeout_ms: i64) -> 0 | -err: TLS on an open connection
 * (ssl.wrap_socket after connect); queued plain bytes are flushed first. */
static wasm_trap_t *net_starttls(void *env, wasmtime_caller_t *caller,
                                 wasmtime_val_raw_t *v, size_t n) {
    (void)env, (void)n;
    cloche_sandbox *sb = cloche__caller_sandbox(caller);
    int h = v[0].i32;
    uint64_t until = call_deadline(sb, v[1].i64, 0);
    int rc = sb->net ? cloche__net_flush(sb->net, h, until) : CLOCHE__NET_EBADF;
    if (rc == 0)
        rc = cloche__net_starttls(sb->net, h, until);
    if (rc == CLOCHE__NET_ETIMEDOUT && run_over(sb))
        return trap("cloche: stopped");
    v[0].i32 = rc;
    return NULL;
}

/* net_send / net_recv(h, ptr, len, timeout_ms: i64) -> bytes | -err */
static wasm_trap_t *net_io(cloche_sandbox *sb, wasmtime_val_raw_t *v,
                           int send) {
    io_call c = {v[0].i32, NULL, (uint32_t)v[2].i32, send, 0};
    if (!(c.buf = cloche__guest_range(sb, (uint32_t)v[1].i32, (uint32_t)c.len)))
        return trap("cloche.net_send/recv: out of bounds");
    if (!sb->net) {
        v[0].i64 = CLOCHE__NET_EBADF;
        return NULL;
    }
    int rc = sliced_io(sb, &c, call_deadline(sb, v[3].i64, 1));
    if (rc == STOPPED)
        return trap("cloche: stopped");
    v[0].i64 = rc < 0 ? rc : (int64_t)c.done;
    return NULL;
}

static wasm_trap_t *net_send(void *env, wasmtime_caller_t *caller,
                             wasmtime_val_raw_t *v, size_t n) {
    (void)env, (void)n;
    return net_io(cloche__caller_sandbox(caller), v, 1);
}

static wasm_trap_t *net_recv(void *env, wasmtime_caller_t *caller,
                             wasmtime_val_raw_t *v, size_t n) {
    (void)env, (void)n;
    return net_io(cloche__caller_sandbox(caller), v, 0);
}

/* net_shutdown(h, how) -> 0 | -err; how: 0 read, 1 write, 2 both */
static wasm_trap_t *net_shutdown(void *env, wasmtime_caller_t *caller,
                                 wasmtime_val_raw_t *v, size_t n) {
    (void)env, (void)n;
    cloche_sandbox *sb = cloche__caller_sandbox(caller);
    static const int how[] = {SHUT_RD, SHUT_WR, SHUT_RDWR};
    uint32_t h = (uint32_t)v[1].i32;
    if (!sb->net)
        v[0].i32 = CLOCHE__NET_EBADF;
    else if (h > 2)
        v[0].i32 = cloche__net_note(sb->net, CLOCHE__NET_EINVAL,
                                    "bad shutdown mode");
    else
        v[0].i32 = cloche__net_shutdown(sb->net, v[0].i32, how[h]);
    return NULL;
}

/* net_close(h) -> 0 | -err */
static wasm_trap_t *net_close(void *env, wasmtime_caller_t *caller,
                              wasmtime_val_raw_t *v, size_t n) {
    (void)env, (void)n;
    cloche_sandbox *sb = cloche__caller_sandbox(caller);
    v[0].i32 = sb->net ? cloche__net_close(sb->net, v[0].i32)
                       : CLOCHE__NET_EBADF;
    return NULL;
}

/* Poll in slices; returns ready count, a net status or STOPPED. */
static int sliced_poll(cloche_sandbox *sb, cloche__net_pollfd *fds, size_t nfds,
                       uint64_t until) {
    for (;;) {
        uint64_t slice = cloche__net_deadline(until, SLICE_MS);
        size_t ready = 0;
        int rc = cloche__net_poll(sb->net, fds, nfds, slice, &ready);
        if (rc != 0 || ready > 0)
            return rc != 0 ? rc : (int)ready;
        if (run_over(sb))
            return STOPPED;
        if (slice >= until)
            return 0;
    }
}

/* net_poll(fds, nfds, timeout_ms: i64) -> ready | -err; fds: 12-byte
 * records {handle, events, revents}, revents written back. */
static wasm_trap_t *net_poll(void *env, wasmtime_caller_t *caller,
                             wasmtime_val_raw_t *v, size_t n) {
    (void)env, (void)n;
    cloche_sandbox *sb = cloche__caller_sandbox(caller);
    uint32_t nfds = (uint32_t)v[1].i32;
    if (nfds > CLOCHE__NET_MAX_OPEN) {
        v[0].i32 = cloche__net_note(sb->net, CLOCHE__NET_EINVAL,
                                    "more than 256 sockets in one poll");
        return NULL;
    }
    uint8_t *p = cloche__guest_range(sb, (uint32_t)v[0].i32, nfds * POLLFD_SIZE);
    if (!p)
        return trap("cloche.net_poll: out of bounds");
    cloche__net_pollfd fds[CLOCHE__NET_MAX_OPEN];
    for (uint32_t i = 0; i < nfds; i++) {
        fds[i].handle = (int)cloche__load_u32(p + i * POLLFD_SIZE);
        fds[i].events = cloche__load_u32(p + i * POLLFD_SIZE + 4);
        fds[i].revents = 0;
    }
    int rc = sb->net ? sliced_poll(sb, fds, nfds, call_deadline(sb, v[2].i64, 0))
                     : CLOCHE__NET_EBADF;
    if (rc == STOPPED)
        return trap("cloche: stopped");
    for (uint32_t i = 0; i < nfds; i++)
        memcpy(p + i * POLLFD_SIZE + 8, &fds[i].revents, 4); /* wasm: LE */
    v[0].i32 = rc;
    return NULL;
}

/* net_error(buf, cap) -> length of the last failure's message (copied up
 * to cap bytes). Messages never contain a secret's value. */
static wasm_trap_t *net_error(void *env, wasmtime_caller_t *caller,
                              wasmtime_val_raw_t *v, size_t n) {
    (void)env, (void)n;
    cloche_sandbox *sb = cloche__caller_sandbox(caller);
    uint32_t cap = (uint32_t)v[1].i32;
    uint8_t *p = cloche__guest_range(sb, (uint32_t)v[0].i32, cap);
    if (!p)
        return trap("cloche.net_error: out of bounds");
    const char *msg = sb->net ? cloche__net_errmsg(sb->net)
                              : "network access is off (not granted to this "
                                "sandbox)";
    size_t len = strlen(msg);
    memcpy(p, msg, len < cap ? len : cap);
    v[0].i32 = (int32_t)len;
    return NULL;
}

int cloche__define_net_imports(wasmtime_linker_t *linker, char *err,
                               size_t len) {
    static const struct {
        const char *name, *params, *results;
        wasmtime_func_unchecked_callback_t cb;
    } imports[] = {
        {"net_connect", "iiiiI", "i", net_connect},
        {"net_starttls", "iI", "i", net_starttls},
        {"net_send", "iiiI", "I", net_send},
        {"net_recv", "iiiI", "I", net_recv},
        {"net_shutdown", "ii", "i", net_shutdown},
        {"net_close", "i", "i", net_close},
        {"net_poll", "iiI", "i", net_poll},
        {"net_error", "ii", "i", net_error},
    };
    for (size_t i = 0; i < sizeof imports / sizeof *imports; i++) {
        int rc = cloche__define_import(linker, imports[i].name,
                                       imports[i].params, imports[i].results,
                                       imports[i].cb, err, len);
        if (rc != 0)
            return rc;
    }
    return 0;
}
