/*
 * wasi_proc.c - process and socket calls: proc_exit, proc_raise,
 * sched_yield, sock_accept, sock_recv, sock_send, sock_shutdown.
 *
 * proc_exit does not unwind anything itself: it records the EXIT trap and
 * returns, and the engine glue stops the guest when it sees the trap.
 * Signals do not exist in the box (proc_raise: ENOSYS). Networking is not
 * WASI sockets (cloche has its own imports), so every sock_* call answers
 * EBADF for an fd that is not open and ENOTSUP otherwise.
 */
#include "wasi/wasi_int.h"

void cloche__wasi_proc_exit(cloche__wasi *w, cloche__mem m, uint32_t code)
{
    (void)m;
    cloche__wasi_set_trap(w, CLOCHE__WASI_TRAP_EXIT, code);
}

int32_t cloche__wasi_proc_raise(cloche__wasi *w, cloche__mem m, uint32_t sig)
{
    (void)w;
    (void)m;
    (void)sig;
    return CLOCHE__WASI_ENOSYS;
}

int32_t cloche__wasi_sched_yield(cloche__wasi *w, cloche__mem m)
{
    (void)w;
    (void)m;
    return 0;
}

static int32_t no_sockets(cloche__wasi *w, uint32_t fd)
{
    return cloche__wasi_fd_get(w, fd) ? CLOCHE__WASI_ENOTSUP
                                      : CLOCHE__WASI_EBADF;
}

int32_t cloche__wasi_sock_accept(cloche__wasi *w, cloche__mem m, uint32_t fd,
                                 uint32_t flags, uint32_t fd_out)
{
    (void)m;
    (void)flags;
    (void)fd_out;
    return no_sockets(w, fd);
}

int32_t cloche__wasi_sock_recv(cloche__wasi *w, cloche__mem m, uint32_t fd,
                               uint32_t ri_data, uint32_t ri_data_len,
                               uint32_t ri_flags, uint32_t ro_datalen_out,
                               uint32_t ro_flags_out)
{
    (void)m;
    (void)ri_data;
    (void)ri_data_len;
    (void)ri_flags;
    (void)ro_datalen_out;
    (void)ro_flags_out;
    return no_sockets(w, fd);
}

int32_t cloche__wasi_sock_send(cloche__wasi *w, cloche__mem m, uint32_t fd,
                               uint32_t si_data, uint32_t si_data_len,
                               uint32_t si_flags, uint32_t so_datalen_out)
{
    (void)m;
    (void)si_data;
    (void)si_data_len;
    (void)si_flags;
    (void)so_datalen_out;
    return no_sockets(w, fd);
}

int32_t cloche__wasi_sock_shutdown(cloche__wasi *w, cloche__mem m,
                                   uint32_t fd, uint32_t how)
{
    (void)m;
    (void)how;
    return no_sockets(w, fd);
}
