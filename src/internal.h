/*
 * Private structures shared by the host library's modules. Nothing here is
 * part of the public API.
 */
#ifndef CLOCHE_INTERNAL_H
#define CLOCHE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <wasmtime.h>

#include "callbacks.h"
#include "calls.h"
#include "cloche.h"
#include "pool.h"
#include "ticker.h"
#include "vfs/vfs.h"
#include "wasi/wasi.h"

#define CLOCHE__ERRMSG_MAX 512

struct cloche_engine {
    wasm_engine_t *wasm;
    wasmtime_module_t *module;
    wasmtime_linker_t *linker;
    wasmtime_instance_pre_t *pre;
    cloche__ticker *ticker;
    cloche__pool *pool; /* runs callback implementations */
    /* A never-run instance whose memory is the image, for snapshot diffs;
     * made on first use. */
    pthread_mutex_t pristine_lock;
    wasmtime_store_t *pristine;
    const uint8_t *image;
    uint64_t image_size;
    int fuel_enabled;
};

/* Why the guest was stopped, recorded by the host before it traps. */
typedef enum cloche__stop {
    CLOCHE__STOP_NONE = 0,
    CLOCHE__STOP_TIMEOUT,
    CLOCHE__STOP_OUTPUT, /* detail in stop_fd */
    CLOCHE__STOP_EXIT,   /* proc_exit; code in stop_exit_code */
    CLOCHE__STOP_CANCELLED,
    CLOCHE__STOP_CALLBACKS, /* the per-run invocation cap */
} cloche__stop;

/* Where the sandbox's current run stands. */
typedef enum cloche__run_state {
    CLOCHE__RUN_IDLE = 0,
    CLOCHE__RUN_PENDING, /* returned to the host; waits on host calls */
    CLOCHE__RUN_DONE,    /* finished; result waits for cloche_finish */
} cloche__run_state;

/* A pure-Python package served read-only at /packages/<name>: a wheel or
 * zip held in memory (data, len), or a host folder mounted read-only
 * (host_dir). */
typedef struct cloche__package {
    char *name;
    uint8_t *data;
    size_t len;
    char *host_dir;
} cloche__package;

/* A host mount copied from the options. */
typedef struct cloche__mount {
    char *host_path;
    char *guest_path;
    int readonly;
} cloche__mount;

/* Owned copies of the strings an options struct pointed to. */
typedef struct cloche__strings {
    char **items;
    size_t count;
} cloche__strings;

struct cloche_sandbox {
    cloche_engine *engine;
    atomic_int busy;

    /* configuration (copied from the options) */
    int64_t limits[CLOCHE_LIMIT__COUNT];
    uint64_t fixed_clock_ns;
    cloche__strings env, argv;
    char *data_dir;
    uint64_t vfs_quota, vfs_max_files;
    uint32_t max_host_fds;
    cloche_output_fn on_output;
    void *output_ud;
    cloche_trace_fn on_trace;
    void *trace_ud;
    cloche__package *packages;
    size_t npackages;
    cloche__mount *mounts;
    size_t nmounts;
    /* network grant (network.c); NULL: none. Lives as long as sb. */
    struct cloche__net *net;
    uint64_t net_io_timeout_ms;
    int net_has_secrets;
    struct cloche__net_scrubber *out_scrub[2]; /* live stdout, stderr */

    /* the instance; rebuilt by reset */
    wasmtime_store_t *store;
    wasmtime_context_t *ctx;
    wasmtime_memory_t memory;
    wasmtime_func_t fn_alloc, fn_free, fn_run, fn_resume, fn_control;
    cloche__wasi *wasi;
    cloche__vfs *vfs;
    int needs_reset; /* a trap left the interpreter in an unknown state */
    unsigned configured; /* callbacks.generation the instance has installed */
    size_t paths_installed; /* packages already on the instance's sys.path */
    int tracing;            /* the instance's tracer is on */
    uint32_t intr_info;     /* guest address of its interrupt info, or 0 */
    atomic_int intr_requested; /* cloche_sandbox_interrupt (interrupt.c) */

    cloche__callbacks callbacks;
    cloche__hub *hub; /* outstanding host calls; outlives the instance */

    /* the run in progress (run.c) */
    cloche__run_state run_state;
    cloche_result *run_result;
    uint64_t run_start_ns;
    uint64_t wake_ns; /* the guest's next timer (monotonic), or UINT64_MAX */
    uint32_t calls_made;
    uint64_t payload_out, payload_in;
    int blocking_driver; /* cloche_run: calls without an implementation fail */
    uint8_t *sync_reply; /* reply of the last sync-style call */
    size_t sync_reply_len;

    /* per-run state, written by host imports and the epoch callback */
    uint64_t deadline_ns; /* monotonic; 0 = none */
    cloche__stop stop;
    int stop_fd;
    uint32_t stop_exit_code;
    int memory_denied; /* the limiter refused a memory.grow this run */
    uint64_t trace_bytes;   /* trace text taken this run (host_imports.c) */
    uint64_t trace_dropped; /* trace text dropped at the cap this run */

    char errmsg[CLOCHE__ERRMSG_MAX];
};

/* errors.c: record a message on the sandbox and return status. */
int cloche__fail(cloche_sandbox *sb, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* errors.c: keep why cloche_sandbox_new failed for
 * cloche_sandbox_errmsg(NULL) on this thread. */
void cloche__keep_new_error(const cloche_sandbox *sb, int status);
/* Copy a wasmtime error's message into buf and delete the error. */
void cloche__take_wasmtime_error(wasmtime_error_t *err, char *buf, size_t len);
/* Copy a trap's message into buf and delete the trap; returns its code or
 * -1 when it has none. */
int cloche__take_trap(wasm_trap_t *trap, char *buf, size_t len);

/* Little-endian u32 from bytes the caller has bounds-checked. */
static inline uint32_t cloche__load_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* clock.c */
uint64_t cloche__now_ns(void);

/* interrupt.c: soft interrupts (KeyboardInterrupt in the guest). Bind once
 * per instance; deliver from the epoch callback when one was requested. */
void cloche__interrupt_bind(cloche_sandbox *sb, wasmtime_instance_t *inst);
void cloche__interrupt_deliver(cloche_sandbox *sb);

/* host_imports.c: define WASI and cloche imports on the engine's linker. */
int cloche__define_imports(wasmtime_linker_t *linker, char *err, size_t len);

/* code_cache.c: load the guest module, compiling and caching it if needed. */
int cloche__load_guest_module(wasmtime_module_t **out, wasm_engine_t *engine,
                              const char *cache_dir, int fuel, char *err,
                              size_t len);

/* embedded.c: the guest artifacts linked into the library. */
const uint8_t *cloche__guest_wasm(size_t *len);
const uint8_t *cloche__stdlib_zip(size_t *len);
const char *cloche__guest_build_id(void);
/* Add the stdlib image's stored members to @p vfs as read-only files under
 * /usr/local/share/python313/ (bytes borrowed from the image). 0 or a VFS
 * error. */
int cloche__serve_stdlib_files(cloche__vfs *vfs);

/* sandbox.c: take the sandbox for this thread (CLOCHE_EBUSY otherwise);
 * with want_pending 0 or 1, also require a run to be pending or not
 * (CLOCHE_ESTATE otherwise). */
int cloche__acquire(cloche_sandbox *sb, int want_pending);
void cloche__release(cloche_sandbox *sb);
/* Serve a package in the instance's VFS at /packages/<name>. 0 or
 * CLOCHE_E* with the message set. */
int cloche__vfs_add_package(cloche_sandbox *sb, const cloche__package *p);
/* network.c: build sb->net from the options and put the secrets'
 * placeholders into the guest env (0 or CLOCHE_E* with the message set);
 * free it; a run starts (caps restart); the instance is torn down (its
 * connections and held live output go). */
int cloche__network_setup(cloche_sandbox *sb, const cloche_network_options *o);
void cloche__network_free(cloche_sandbox *sb);
void cloche__network_run_start(cloche_sandbox *sb);
void cloche__network_instance_gone(cloche_sandbox *sb);
/* network.c: a malloc'd, NUL-terminated copy of in[0..len) with secrets'
 * values replaced by their placeholders (0 or CLOCHE_ENOMEM); the same in
 * place on a malloc'd text (replaced, the old one wiped). */
int cloche__scrub_copy(const cloche_sandbox *sb, const void *in, size_t len,
                       char **out, size_t *out_len);
int cloche__scrub(const cloche_sandbox *sb, char **text, size_t *len);
/* network.c: live output through the scrubbers (then to on_output), and
 * their held tails at the end of a run. */
void cloche__network_output(cloche_sandbox *sb, int fd, const uint8_t *data,
                            size_t len);
void cloche__network_output_end(cloche_sandbox *sb);
/* CLOCHE_ESECRET (message set) if data holds a secret's value, else 0. */
int cloche__network_check_leak(cloche_sandbox *sb, const uint8_t *data,
                               size_t len);
/* net_imports.c: define the cloche.net_* imports. */
int cloche__define_net_imports(wasmtime_linker_t *linker, char *err,
                               size_t len);
/* host_imports.c: the sandbox a host import was called for; guest bytes
 * [ptr, ptr + len) checked against the current memory size (NULL when out
 * of bounds; valid until the guest runs again). */
cloche_sandbox *cloche__caller_sandbox(wasmtime_caller_t *caller);
uint8_t *cloche__guest_range(cloche_sandbox *sb, uint32_t ptr, uint32_t len);
/* host_imports.c: after a run, tell on_trace how much of its trace the
 * cap dropped (a CLOCHE_TRACE_CUT event), if any. */
void cloche__trace_end_run(cloche_sandbox *sb);
/* host_imports.c: define one cloche import. */
int cloche__define_import(wasmtime_linker_t *linker, const char *name,
                          const char *params, const char *results,
                          wasmtime_func_unchecked_callback_t cb, char *err,
                          size_t len);
/* mounts.c: copy the options' mounts; apply them to a new VFS (0 or
 * CLOCHE_E* with the message set); mount a folder package; free. */
int cloche__mounts_copy(cloche_sandbox *sb, const cloche_mount *m, size_t n);
int cloche__mounts_apply(cloche_sandbox *sb);
int cloche__package_mount(cloche_sandbox *sb, const cloche__package *p);
void cloche__mounts_free(cloche_sandbox *sb);
/* Re-instantiate if there is no instance or it needs a reset. */
int cloche__ensure_instance(cloche_sandbox *sb);
/* sandbox.c */
int cloche__sandbox_instantiate(cloche_sandbox *sb);
void cloche__sandbox_teardown(cloche_sandbox *sb);
/* Guest memory as seen right now (the base moves when memory grows). */
cloche__mem cloche__sandbox_mem(cloche_sandbox *sb);

/* host_imports.c: a sync-style host call made by the guest. */
uint64_t cloche__sync_call(cloche_sandbox *sb, const char *name, size_t nlen,
                           const uint8_t *args, size_t alen);

/* run.c: per-call checks shared by both call styles. Returns 0 when the
 * call may go to its implementation, else the reply kind it already got
 * (the call is resolved); sets sb->stop for the invocation cap. */
int cloche__admit_call(cloche_sandbox *sb, cloche_call *call,
                       const cloche__callback **cb);

/* run.c: give the run its full budget from `start` (monotonic ns): the
 * deadline from the timeout limit, the fuel limit, the trace cap, no stop
 * recorded. Used by cloche_start and by restoring a pending run. */
void cloche__run_arm_budget(cloche_sandbox *sb, uint64_t start);

/* run.c: cloche_start, saying whether the blocking driver drives the run. */
int cloche__start(cloche_step *out, cloche_sandbox *sb, const char *code,
                  size_t len, int blocking);

/* dispatch.c: an async-style call from a PENDING batch. */
int cloche__add_async_call(cloche_sandbox *sb, uint32_t id, const char *name,
                           size_t name_len, const uint8_t *args,
                           size_t args_len);

/* guest_call.c: invoke an export (0, or -1 with the trap code/message). */
int cloche__guest_call(cloche_sandbox *sb, const wasmtime_func_t *fn,
                       const wasmtime_val_t *args, size_t nargs,
                       wasmtime_val_t *result, int *trap_code, char *msg,
                       size_t msglen);
/* Copy bytes into a new guest buffer (cloche_alloc). 0 or CLOCHE_E*. */
int cloche__guest_copy_in(cloche_sandbox *sb, const void *data, size_t len,
                          uint32_t *guest_ptr);
/* Free a guest buffer; -1 (and the sandbox marked for reset) on a trap. */
int cloche__guest_free(cloche_sandbox *sb, uint32_t ptr);

/* session.c: install the callback table if it changed. 0 or CLOCHE_E*. */
int cloche__configure_guest(cloche_sandbox *sb);

/* dispatch.c: start a restored, unanswered call on this sandbox's
 * callbacks (not counted again against the invocation cap). */
void cloche__restart_call(cloche_sandbox *sb, cloche_call *call);

/* result.c */
#define CLOCHE__RECORD_FIELDS 6
typedef struct cloche__span {
    const uint8_t *data; /* NULL: the field is absent */
    size_t len;
} cloche__span;
/* Split a guest record into its status and fields (spans point into rec).
 * Every length is checked; the fields must fill the record exactly. */
int cloche__record_split(const uint8_t *rec, size_t len, uint32_t *status,
                         cloche__span fields[CLOCHE__RECORD_FIELDS]);
cloche_result *cloche__result_new(void);
void cloche__result_set_cancelled(cloche_result *r);
/* guest_call.c: bounds-check and split the record at `packed`. 0 or -1. */
int cloche__guest_record(cloche_sandbox *sb, uint64_t packed,
                         uint32_t *status,
                         cloche__span fields[CLOCHE__RECORD_FIELDS]);
/* Fill r from a finished (0) or exception (1) record's fields, copying
 * from each only what fits sb's output caps (result.c says how). */
int cloche__result_fill(cloche_result *r, uint32_t status,
                        const cloche__span f[CLOCHE__RECORD_FIELDS],
                        const cloche_sandbox *sb);
void cloche__result_set_limit(cloche_result *r, cloche_limit limit,
                              const char *detail);
void cloche__result_set_crash(cloche_result *r, const char *detail);
int cloche__result_set_output(cloche_result *r, const cloche__wasi *wasi);
/* How many of p[0..len) to keep under `cap`: never the first bytes of a
 * UTF-8 sequence whose rest is cut. */
size_t cloche__utf8_keep(const uint8_t *p, size_t len, size_t cap);
/* A malloc'd, NUL-terminated copy of p[0..keep), a text cut there, with
 * secrets' values replaced (*len: its length). A tail that may begin a
 * value is dropped too: the value's rest was cut off, so a whole-text
 * scrub could never match it. NULL when out of memory. */
char *cloche__scrub_cut(const cloche_sandbox *sb, const uint8_t *p,
                        size_t keep, size_t *len);
/* Replace secrets' values by their placeholders in every text (output cut
 * at its cap drops a tail that may begin a value). */
int cloche__result_scrub(cloche_result *r, const cloche_sandbox *sb);
void cloche__result_set_exception(cloche_result *r, const char *type,
                                  const char *message);
void cloche__result_set_stats(cloche_result *r, uint64_t duration_ns,
                              uint64_t fuel_used, uint64_t memory_bytes);
int cloche__result_is_exception(const cloche_result *r, const char *type);

#endif
