/*
 * Sandbox lifecycle: options, the wasmtime store and instance, the VFS and
 * WASI context, limits, reset. A sandbox's instance always comes from the
 * engine's instance_pre, whose memory is the pre-initialized image mapped
 * copy-on-write, so creating and resetting are cheap.
 *
 * Invariant: when `store` is non-NULL, wasi, vfs, memory and the three
 * guest functions are valid. A sandbox is never used by two threads at
 * once (run.c and reset take `busy`).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define STDLIB_ZIP_PATH "/usr/local/lib/python313.zip"

/* --- owned copies of option strings -------------------------------------- */

static void strings_free(cloche__strings *s) {
    for (size_t i = 0; i < s->count; i++)
        free(s->items[i]);
    free(s->items);
    s->items = NULL;
    s->count = 0;
}

static int strings_copy(cloche__strings *s, const char *const *src, size_t n) {
    if (n == 0)
        return 0;
    if (!src)
        return CLOCHE_EINVAL;
    s->items = calloc(n, sizeof *s->items);
    if (!s->items)
        return CLOCHE_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (!src[i] || !(s->items[i] = strdup(src[i]))) {
            s->count = i;
            strings_free(s);
            return src[i] ? CLOCHE_ENOMEM : CLOCHE_EINVAL;
        }
    }
    s->count = n;
    return 0;
}

/* argv and env reach the guest as one blob each (wasi_args.c): refuse
 * what would not fit, saying why. */
static int check_strings(cloche_sandbox *sb, const char *const *v, size_t n,
                         const char *what, int need_eq) {
    size_t total = 0;
    for (size_t i = 0; v && i < n; i++) {
        if (!v[i])
            return cloche__fail(sb, CLOCHE_EINVAL, "%s[%zu] is NULL", what, i);
        if (need_eq && !strchr(v[i], '='))
            return cloche__fail(sb, CLOCHE_EINVAL,
                                "%s[%zu] is not NAME=VALUE", what, i);
        size_t len = strlen(v[i]) + 1;
        total = len > SIZE_MAX - total ? SIZE_MAX : total + len;
    }
    if (total > CLOCHE__WASI_ARGS_MAX)
        return cloche__fail(sb, CLOCHE_EINVAL,
                            "%s is %zu bytes; at most %u (1 MiB) reach the "
                            "guest",
                            what, total, CLOCHE__WASI_ARGS_MAX);
    return 0;
}

static int64_t or_default(uint64_t v, uint64_t dflt) {
    return (int64_t)(v ? v : dflt);
}

static int apply_options(cloche_sandbox *sb, const cloche_sandbox_options *o) {
    if (o->version != CLOCHE_SANDBOX_OPTIONS_VERSION)
        return cloche__fail(sb, CLOCHE_EINVAL, "unsupported options version");
    if (o->fuel && !sb->engine->fuel_enabled)
        return cloche__fail(sb, CLOCHE_EINVAL,
                            "fuel limit needs an engine with enable_fuel");
    if (o->timeout_ms > INT64_MAX / 1000000 || o->memory_limit > INT64_MAX ||
        o->fuel > INT64_MAX || o->stdout_limit > SIZE_MAX ||
        o->stderr_limit > SIZE_MAX)
        return cloche__fail(sb, CLOCHE_EINVAL, "limit out of range");
    sb->limits[CLOCHE_LIMIT_TIMEOUT] =
        or_default(o->timeout_ms, CLOCHE_DEFAULT_TIMEOUT_MS);
    sb->limits[CLOCHE_LIMIT_FUEL] = (int64_t)o->fuel;
    sb->limits[CLOCHE_LIMIT_MEMORY] =
        or_default(o->memory_limit, CLOCHE_DEFAULT_MEMORY_LIMIT);
    sb->limits[CLOCHE_LIMIT_STDOUT] =
        or_default(o->stdout_limit, CLOCHE_DEFAULT_OUTPUT_LIMIT);
    sb->limits[CLOCHE_LIMIT_STDERR] =
        or_default(o->stderr_limit, CLOCHE_DEFAULT_OUTPUT_LIMIT);
    sb->limits[CLOCHE_LIMIT_CALLBACKS] = CLOCHE_DEFAULT_CALLBACKS;
    sb->limits[CLOCHE_LIMIT_CALLBACK_TIMEOUT] =
        CLOCHE_DEFAULT_CALLBACK_TIMEOUT_MS;
    sb->limits[CLOCHE_LIMIT_CALLBACK_PAYLOAD] = CLOCHE_DEFAULT_CALLBACK_PAYLOAD;
    sb->limits[CLOCHE_LIMIT_TRACE] = sb->limits[CLOCHE_LIMIT_STDERR];
    sb->limits[CLOCHE_LIMIT_IMAGES] = CLOCHE_DEFAULT_IMAGE_BYTES;
    sb->fixed_clock_ns = o->fixed_clock_ns;
    sb->vfs_quota = o->vfs_quota ? o->vfs_quota : CLOCHE_DEFAULT_VFS_QUOTA;
    sb->vfs_max_files =
        o->vfs_max_files ? o->vfs_max_files : CLOCHE_DEFAULT_VFS_FILES;
    if (o->max_open_host_files > CLOCHE__VFS_MAX_HOST_NODES)
        return cloche__fail(sb, CLOCHE_EINVAL,
                            "max_open_host_files: at most %u",
                            CLOCHE__VFS_MAX_HOST_NODES);
    sb->max_host_fds = o->max_open_host_files;
    sb->on_output = o->on_output;
    sb->output_ud = o->output_userdata;
    sb->on_trace = o->on_trace;
    sb->trace_ud = o->trace_userdata;
    const char *data_dir = o->data_dir ? o->data_dir : CLOCHE_DEFAULT_DATA_DIR;
    if (data_dir[0] != '/' || strlen(data_dir) > 255)
        return cloche__fail(sb, CLOCHE_EINVAL, "data_dir must be absolute");
    if (!(sb->data_dir = strdup(data_dir)))
        return cloche__fail(sb, CLOCHE_ENOMEM, "out of memory");
    int rc = check_strings(sb, o->argv, o->argc, "argv", 0);
    if (rc == 0)
        rc = check_strings(sb, o->env, o->env_count, "env", 1);
    if (rc)
        return rc;
    rc = strings_copy(&sb->env, o->env, o->env_count);
    if (rc == 0)
        rc = strings_copy(&sb->argv, o->argv, o->argc);
    if (rc)
        return cloche__fail(sb, rc, rc == CLOCHE_ENOMEM ? "out of memory"
                                                        : "bad env or argv");
    rc = cloche__mounts_copy(sb, o->mounts, o->mount_count);
    return rc ? rc : cloche__network_setup(sb, o->network);
}

/* --- hooks the WASI layer calls ------------------------------------------ */

static uint64_t hook_now(void *ud) {
    (void)ud;
    return cloche__now_ns();
}

static void hook_output(void *ud, int fd, const uint8_t *data, size_t len) {
    cloche__network_output(ud, fd, data, len); /* scrubs secrets' values */
}

/* Sleep, but never past the run's deadline and never through a cancel:
 * returns 1 (with the reason in sb->stop) if the sleep was cut. */
#define SLEEP_SLICE_NS 50000000u /* 50 ms */

static int hook_sleep(void *ud, uint64_t ns) {
    cloche_sandbox *sb = ud;
    uint64_t now = cloche__now_ns();
    uint64_t until = ns > UINT64_MAX - now ? UINT64_MAX : now + ns;
    int cut = sb->deadline_ns && until >= sb->deadline_ns;
    if (cut)
        until = sb->deadline_ns;
    /* In slices, so that a soft interrupt ends the sleep early: the guest
     * then raises KeyboardInterrupt at its next bytecode boundary. */
    for (uint64_t t = now; t < until; t = cloche__now_ns()) {
        uint64_t step = until - t > SLEEP_SLICE_NS ? t + SLEEP_SLICE_NS : until;
        if (cloche__hub_sleep(sb->hub, step) != 0) {
            sb->stop = CLOCHE__STOP_CANCELLED;
            return 1;
        }
        if (atomic_exchange(&sb->intr_requested, 0)) {
            cloche__interrupt_deliver(sb);
            return 0;
        }
    }
    if (cut)
        sb->stop = CLOCHE__STOP_TIMEOUT;
    return cut;
}

/* --- epoch deadline: called by wasmtime at every tick while running ------ */

static wasmtime_error_t *on_epoch(wasmtime_context_t *ctx, void *env,
                                  uint64_t *delta,
                                  wasmtime_update_deadline_kind_t *kind) {
    (void)ctx;
    cloche_sandbox *sb = env;
    if (cloche__hub_cancelled(sb->hub)) {
        sb->stop = CLOCHE__STOP_CANCELLED;
        return wasmtime_error_new("cloche: cancelled");
    }
    if (atomic_exchange(&sb->intr_requested, 0))
        cloche__interrupt_deliver(sb);
    if (sb->deadline_ns && cloche__now_ns() >= sb->deadline_ns) {
        sb->stop = CLOCHE__STOP_TIMEOUT;
        return wasmtime_error_new("cloche: deadline");
    }
    *delta = 1;
    *kind = WASMTIME_UPDATE_DEADLINE_CONTINUE;
    return NULL;
}

/* --- instance ------------------------------------------------------------ */

/* Serve a package at /packages/<name> (borrowed from the sandbox). */
int cloche__vfs_add_package(cloche_sandbox *sb, const cloche__package *p) {
    if (p->host_dir)
        return cloche__package_mount(sb, p);
    char path[512];
    snprintf(path, sizeof path, "/packages/%s", p->name);
    if (cloche__vfs_add_file_ro(sb->vfs, path, p->data, p->len) != 0)
        return cloche__fail(sb, CLOCHE_EINVAL, "cannot serve %s", path);
    return 0;
}

static int build_vfs(cloche_sandbox *sb) {
    size_t zip_len;
    const uint8_t *zip = cloche__stdlib_zip(&zip_len);
    cloche__vfs_limits limits = {sb->vfs_quota, sb->vfs_max_files,
                                 sb->max_host_fds};
    if (cloche__vfs_new(&sb->vfs, &limits) != 0)
        return CLOCHE_ENOMEM;
    /* "/" is read-only: the guest cannot move the stdlib image's folders
     * (a snapshot finds read-only files by path) or litter the root. */
    if (cloche__vfs_add_file_ro(sb->vfs, STDLIB_ZIP_PATH, zip, zip_len) != 0 ||
        cloche__serve_stdlib_files(sb->vfs) != 0 ||
        cloche__vfs_mkdir_p(sb->vfs, "/tmp", 0) != 0 ||
        cloche__vfs_mkdir_p(sb->vfs, sb->data_dir, 0) != 0 ||
        cloche__vfs_mkdir_p(sb->vfs, "/packages", 1) != 0)
        return cloche__fail(sb, CLOCHE_ENOMEM, "out of memory");
    int rc = cloche__mounts_apply(sb);
    for (size_t i = 0; rc == 0 && i < sb->npackages; i++)
        rc = cloche__vfs_add_package(sb, &sb->packages[i]);
    if (rc == 0 && cloche__vfs_set_readonly(sb->vfs, "/", 1) != 0)
        rc = cloche__fail(sb, CLOCHE_ENOMEM, "out of memory");
    return rc;
}

static int build_wasi(cloche_sandbox *sb) {
    cloche__wasi_config c;
    memset(&c, 0, sizeof c);
    c.argv = (const char *const *)sb->argv.items;
    c.argc = sb->argv.count;
    c.env = (const char *const *)sb->env.items;
    c.envc = sb->env.count;
    c.stdout_cap = (size_t)sb->limits[CLOCHE_LIMIT_STDOUT];
    c.stderr_cap = (size_t)sb->limits[CLOCHE_LIMIT_STDERR];
    c.fixed_clock_ns = sb->fixed_clock_ns;
    c.root = sb->vfs;
    c.hook_ud = sb;
    c.sleep_ns = hook_sleep;
    c.now_ns = hook_now;
    c.on_output = hook_output;
    int rc = cloche__wasi_new(&sb->wasi, &c);
    if (rc == CLOCHE__EINVAL) /* checked when the options were copied */
        return cloche__fail(sb, CLOCHE_EINVAL, "argv or env refused");
    return rc == 0 ? 0 : CLOCHE_ENOMEM;
}

static int get_export(cloche_sandbox *sb, wasmtime_instance_t *inst,
                      const char *name, wasmtime_extern_kind_t kind,
                      wasmtime_extern_t *out) {
    if (!wasmtime_instance_export_get(sb->ctx, inst, name, strlen(name), out) ||
        out->kind != kind)
        return cloche__fail(sb, CLOCHE_EENGINE, "guest lacks export %s", name);
    return 0;
}

static int bind_exports(cloche_sandbox *sb, wasmtime_instance_t *inst) {
    static const char *const names[] = {"cloche_alloc", "cloche_free",
                                        "cloche_run", "cloche_resume",
                                        "cloche_control"};
    wasmtime_func_t *slots[] = {&sb->fn_alloc, &sb->fn_free, &sb->fn_run,
                                &sb->fn_resume, &sb->fn_control};
    wasmtime_extern_t ext;
    int rc = get_export(sb, inst, "memory", WASMTIME_EXTERN_MEMORY, &ext);
    if (rc)
        return rc;
    sb->memory = ext.of.memory;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        if ((rc = get_export(sb, inst, names[i], WASMTIME_EXTERN_FUNC, &ext)))
            return rc;
        *slots[i] = ext.of.func;
    }
    return 0;
}

/*
 * ThreadSanitizer builds: wasmtime's pooling allocator hands a linear
 * memory slot from a store deleted on one thread to a store created on
 * another, ordered by its own locks in Rust that TSan does not see. Tell
 * TSan about that order, so that guest-memory accesses of the old and the
 * new owner are not reported as races (.ci/run's TSan pass).
 */
#if defined(__SANITIZE_THREAD__)
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
static char g_slot_handoff;
#define SLOT_ACQUIRE() __tsan_acquire(&g_slot_handoff)
#define SLOT_RELEASE() __tsan_release(&g_slot_handoff)
#else
#define SLOT_ACQUIRE() ((void)0)
#define SLOT_RELEASE() ((void)0)
#endif

static int instantiate_guest(cloche_sandbox *sb) {
    wasmtime_instance_t inst;
    wasm_trap_t *trap = NULL;
    wasmtime_error_t *err =
        wasmtime_instance_pre_instantiate(sb->engine->pre, sb->ctx, &inst,
                                          &trap);
    SLOT_ACQUIRE(); /* after the slot is taken: ordered after its release */
    if (err || trap) {
        char msg[256];
        if (err)
            cloche__take_wasmtime_error(err, msg, sizeof msg);
        else
            cloche__take_trap(trap, msg, sizeof msg);
        /* The limiter refusing the image's initial memory lands here. */
        return cloche__fail(sb, CLOCHE_EENGINE,
                            "instantiating the guest failed (is the memory "
                            "limit below the image size?): %s",
                            msg);
    }
    int rc = bind_exports(sb, &inst);
    if (rc == 0)
        cloche__interrupt_bind(sb, &inst);
    return rc;
}

int cloche__sandbox_instantiate(cloche_sandbox *sb) {
    sb->store = wasmtime_store_new(sb->engine->wasm, sb, NULL);
    if (!sb->store)
        return cloche__fail(sb, CLOCHE_ENOMEM, "wasmtime_store_new failed");
    sb->ctx = wasmtime_store_context(sb->store);
    wasmtime_store_limiter(sb->store, sb->limits[CLOCHE_LIMIT_MEMORY], -1, -1,
                           -1, -1);
    wasmtime_store_epoch_deadline_callback(sb->store, on_epoch, sb, NULL);
    wasmtime_context_set_epoch_deadline(sb->ctx, 1);
    if (sb->engine->fuel_enabled)
        wasmtime_context_set_fuel(sb->ctx, UINT64_MAX);
    int rc = build_vfs(sb);
    if (rc == 0 && build_wasi(sb) != 0)
        rc = cloche__fail(sb, CLOCHE_ENOMEM, "out of memory");
    if (rc == 0)
        rc = instantiate_guest(sb);
    if (rc != 0)
        cloche__sandbox_teardown(sb);
    sb->needs_reset = 0;
    sb->configured = 0; /* the image has an empty callback table */
    sb->paths_installed = 0;
    sb->tracing = 0;
    return rc;
}

void cloche__sandbox_teardown(cloche_sandbox *sb) {
    /* The guest that made the outstanding calls is going away. */
    if (sb->hub)
        cloche__hub_abandon(sb->hub);
    cloche_result_free(sb->run_result);
    sb->run_result = NULL;
    sb->run_state = CLOCHE__RUN_IDLE;
    cloche__network_instance_gone(sb);
    if (sb->store) {
        SLOT_RELEASE();
        wasmtime_store_delete(sb->store);
    }
    sb->store = NULL;
    sb->ctx = NULL;
    cloche__wasi_free(sb->wasi);
    sb->wasi = NULL;
    cloche__vfs_free(sb->vfs);
    sb->vfs = NULL;
}

cloche__mem cloche__sandbox_mem(cloche_sandbox *sb) {
    cloche__mem m;
    m.base = wasmtime_memory_data(sb->ctx, &sb->memory);
    m.size = (uint64_t)wasmtime_memory_data_size(sb->ctx, &sb->memory);
    return m;
}

/* --- exclusive use ---------------------------------------------------------- */

int cloche__acquire(cloche_sandbox *sb, int want_pending) {
    if (atomic_exchange(&sb->busy, 1))
        return cloche__fail(sb, CLOCHE_EBUSY, "sandbox is busy");
    int pending = sb->run_state == CLOCHE__RUN_PENDING;
    if (want_pending >= 0 && pending != want_pending) {
        atomic_store(&sb->busy, 0);
        return cloche__fail(sb, CLOCHE_ESTATE,
                            pending ? "a run is pending" : "no pending run");
    }
    return 0;
}

void cloche__release(cloche_sandbox *sb) { atomic_store(&sb->busy, 0); }

int cloche__ensure_instance(cloche_sandbox *sb) {
    if (sb->store && !sb->needs_reset)
        return 0;
    cloche__sandbox_teardown(sb);
    return cloche__sandbox_instantiate(sb);
}

/* --- public API ---------------------------------------------------------- */

int cloche_sandbox_new(cloche_sandbox **out, cloche_engine *engine,
                       const cloche_sandbox_options *options) {
    if (!out || !engine)
        return CLOCHE_EINVAL;
    *out = NULL;
    cloche_sandbox_options defaults = CLOCHE_SANDBOX_OPTIONS_INIT;
    cloche_sandbox *sb = calloc(1, sizeof *sb);
    if (!sb) {
        cloche__keep_new_error(NULL, CLOCHE_ENOMEM);
        return CLOCHE_ENOMEM;
    }
    sb->engine = engine;
    int rc = cloche__hub_new(&sb->hub);
    if (rc == 0)
        rc = apply_options(sb, options ? options : &defaults);
    if (rc == 0)
        rc = cloche__sandbox_instantiate(sb);
    if (rc != 0) {
        cloche__keep_new_error(sb, rc);
        cloche_sandbox_free(sb);
        return rc;
    }
    *out = sb;
    return 0;
}

void cloche_sandbox_free(cloche_sandbox *sb) {
    if (!sb)
        return;
    cloche__sandbox_teardown(sb);
    cloche__hub_detach(sb->hub);
    cloche__callbacks_free(&sb->callbacks);
    free(sb->sync_reply);
    for (size_t i = 0; i < sb->npackages; i++) {
        free(sb->packages[i].name);
        free(sb->packages[i].data);
        free(sb->packages[i].host_dir);
    }
    cloche__mounts_free(sb);
    cloche__network_free(sb);
    free(sb->packages);
    free(sb->data_dir);
    strings_free(&sb->env);
    strings_free(&sb->argv);
    free(sb);
}

int cloche_sandbox_reset(cloche_sandbox *sb) {
    if (!sb)
        return CLOCHE_EINVAL;
    int rc = cloche__acquire(sb, -1);
    if (rc != 0)
        return rc;
    cloche__sandbox_teardown(sb);
    rc = cloche__sandbox_instantiate(sb);
    cloche__release(sb);
    return rc;
}

int cloche_sandbox_add_callback(cloche_sandbox *sb,
                                const cloche_callback_def *def) {
    if (!sb)
        return CLOCHE_EINVAL;
    int rc = cloche__acquire(sb, -1);
    if (rc != 0)
        return rc;
    rc = cloche__callbacks_add(&sb->callbacks, def);
    cloche__release(sb);
    if (rc == CLOCHE_EINVAL)
        return cloche__fail(sb, rc,
                            "bad callback definition (name must be dotted "
                            "Python identifiers, schema a JSON object, and "
                            "at most one of fn/sync_fn)");
    return rc;
}

void cloche_sandbox_cancel(cloche_sandbox *sb) {
    if (sb)
        cloche__hub_cancel(sb->hub);
}

int64_t cloche_sandbox_limit(cloche_sandbox *sb, cloche_limit which,
                             int64_t new_value) {
    if (!sb || which <= CLOCHE_LIMIT_NONE || which >= CLOCHE_LIMIT__COUNT)
        return -1;
    int64_t old = sb->limits[which];
    if (new_value < 0)
        return old;
    if (which == CLOCHE_LIMIT_FUEL && new_value > 0 && !sb->engine->fuel_enabled)
        return -1;
    if (new_value == 0 && which != CLOCHE_LIMIT_FUEL)
        return -1; /* zero would mean "nothing allowed"; refuse it */
    sb->limits[which] = new_value;
    if (which == CLOCHE_LIMIT_MEMORY && sb->store)
        wasmtime_store_limiter(sb->store, new_value, -1, -1, -1, -1);
    if ((which == CLOCHE_LIMIT_STDOUT || which == CLOCHE_LIMIT_STDERR) &&
        sb->wasi)
        cloche__wasi_set_output_caps(sb->wasi,
                                     (size_t)sb->limits[CLOCHE_LIMIT_STDOUT],
                                     (size_t)sb->limits[CLOCHE_LIMIT_STDERR]);
    return old;
}
