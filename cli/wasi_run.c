/*
 * cloche wasi-run: run any wasm32-wasip1 command module on cloche's own
 * WASI layer (src/wasi, src/vfs), so that layer can face external WASI
 * test programs (cli/wasi_testsuite_adapter.py adapts the wasi-testsuite
 * runner's command line).
 *
 *   cloche wasi-run [--dir HOST[::GUEST]]... [--env K=V]... MODULE.wasm [ARGS]
 *
 * The module sees what a sandbox's WASI layer gives: an in-memory root
 * (writable here, with /tmp), each --dir mounted read-write at GUEST
 * (default: HOST as given, made absolute from "/", the way wasi-testsuite
 * names its preopens) with the mount confinement of docs/files.md,
 * argv = MODULE's file name then ARGS, the
 * --env variables, stdin at EOF, stdout and stderr streamed as written,
 * the host's clocks and CSPRNG. Its exit code is ours: proc_exit(n) gives
 * n, returning from _start 0, a trap 134 (with the trap on stderr), a
 * module that cannot run 2 (usage) or 4 (internal).
 *
 * One preopen only: fd 3 is "/". Programs built with wasi-libc or Rust's
 * std resolve relative paths against it, so `--dir fs-tests.dir` is found
 * as "fs-tests.dir"; a program that looks the preopen up by name is not.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <wasmtime.h>

#include "cli.h"
#include "vfs/vfs.h"
#include "wasi/wasi.h"

#define MAX_DIRS 64
#define MAX_ENV 1024
#define OUTPUT_CAP (64u << 20)
#define EXIT_TRAP 134

typedef struct state {
    cloche__wasi *w;
    int exited;
    uint32_t exit_code;
    int output_full;
} state;

static const char usage[] =
    "usage: cloche wasi-run [--dir HOST[::GUEST]]... [--env K=V]...\n"
    "                       MODULE.wasm [ARGS]...\n"
    "Runs a wasm32-wasip1 command module on cloche's own WASI layer.\n"
    "  --dir HOST[::GUEST]  mount host folder HOST read-write at GUEST\n"
    "                       (default: HOST, made absolute from /)\n"
    "  --env K=V            an environment variable (repeatable)\n"
    "Exit code: the module's (proc_exit, or 0), 134 after a trap, 2 for a\n"
    "usage error or a module that cannot run, 4 for an internal error.\n";

static void on_output(void *ud, int fd, const uint8_t *data, size_t len)
{
    (void)ud;
    FILE *f = fd == 2 ? stderr : stdout;
    fwrite(data, 1, len, f);
    fflush(f);
}

/* Every WASI import: the guest's memory as it is now, then the layer. */
static wasm_trap_t *trampoline(void *env, wasmtime_caller_t *caller,
                               wasmtime_val_raw_t *vals, size_t nvals)
{
    size_t index = (size_t)(uintptr_t)env;
    const cloche__wasi_import *imp = &cloche__wasi_imports[index];
    wasmtime_context_t *ctx = wasmtime_caller_context(caller);
    state *st = wasmtime_context_get_data(ctx);
    wasmtime_extern_t mem;
    cloche__mem m = {NULL, 0};
    if (wasmtime_caller_export_get(caller, "memory", 6, &mem) &&
        mem.kind == WASMTIME_EXTERN_MEMORY) {
        m.base = wasmtime_memory_data(ctx, &mem.of.memory);
        m.size = (uint64_t)wasmtime_memory_data_size(ctx, &mem.of.memory);
    }
    uint64_t args[CLOCHE__WASI_MAX_PARAMS] = {0};
    size_t np = strlen(imp->params);
    for (size_t i = 0; i < np && i < nvals && i < CLOCHE__WASI_MAX_PARAMS; i++)
        args[i] = imp->params[i] == 'I' ? (uint64_t)vals[i].i64
                                        : (uint64_t)(uint32_t)vals[i].i32;
    int32_t rc = cloche__wasi_dispatch(st->w, m, index, args);
    if (imp->results[0] != '\0')
        vals[0].i32 = rc;
    size_t n1 = 0, n2 = 0;
    (void)cloche__wasi_output(st->w, 1, &n1);
    (void)cloche__wasi_output(st->w, 2, &n2);
    if (n1 + n2 > (1u << 20)) /* streamed already: keep memory flat */
        cloche__wasi_reset_output(st->w);
    uint32_t code = 0;
    switch (cloche__wasi_take_trap(st->w, &code)) {
    case CLOCHE__WASI_TRAP_NONE:
        return NULL;
    case CLOCHE__WASI_TRAP_EXIT:
        st->exited = 1;
        st->exit_code = code;
        return wasmtime_trap_new("proc_exit", 9);
    default:
        st->output_full = 1;
        return wasmtime_trap_new("output cap", 10);
    }
}

static int define_imports(wasmtime_linker_t *linker, char *err, size_t len)
{
    for (size_t i = 0; i < cloche__wasi_import_count; i++) {
        const cloche__wasi_import *imp = &cloche__wasi_imports[i];
        wasm_valtype_vec_t p, r;
        size_t np = strlen(imp->params), nr = strlen(imp->results);
        wasm_valtype_vec_new_uninitialized(&p, np);
        for (size_t k = 0; k < np; k++)
            p.data[k] = wasm_valtype_new(imp->params[k] == 'I' ? WASM_I64
                                                               : WASM_I32);
        wasm_valtype_vec_new_uninitialized(&r, nr);
        for (size_t k = 0; k < nr; k++)
            r.data[k] = wasm_valtype_new(WASM_I32);
        wasm_functype_t *ty = wasm_functype_new(&p, &r);
        wasmtime_error_t *e = wasmtime_linker_define_func_unchecked(
            linker, CLOCHE__WASI_MODULE, strlen(CLOCHE__WASI_MODULE),
            imp->name, strlen(imp->name), ty, trampoline,
            (void *)(uintptr_t)i, NULL);
        wasm_functype_delete(ty);
        if (e) {
            wasm_name_t msg;
            wasmtime_error_message(e, &msg);
            snprintf(err, len, "%.*s", (int)msg.size, msg.data);
            wasm_byte_vec_delete(&msg);
            wasmtime_error_delete(e);
            return -1;
        }
    }
    return 0;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0, k;
    char *buf = malloc(cap);
    while (buf && (k = fread(buf + n, 1, cap - n, f)) > 0) {
        n += k;
        if (n == cap) {
            char *b = realloc(buf, cap *= 2);
            if (!b)
                free(buf);
            buf = b;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

typedef struct options {
    const char *dirs[MAX_DIRS];
    size_t ndirs;
    const char *env[MAX_ENV];
    size_t nenv;
    const char *module;
    const char **args; /* argv[0] = the module's name, then ARGS */
    size_t nargs;
} options;

static int parse(options *o, int argc, char **argv)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if ((strcmp(a, "--dir") == 0 || strcmp(a, "--env") == 0) &&
            i + 1 < argc) {
            const char *v = argv[++i];
            if (a[2] == 'd' && o->ndirs < MAX_DIRS)
                o->dirs[o->ndirs++] = v;
            else if (a[2] == 'e' && o->nenv < MAX_ENV && strchr(v, '='))
                o->env[o->nenv++] = v;
            else
                return -1;
            continue;
        }
        return -1;
    }
    if (i >= argc)
        return -1;
    o->module = argv[i];
    o->args = (const char **)argv + i;
    o->nargs = (size_t)(argc - i);
    const char *slash = strrchr(o->module, '/');
    o->args[0] = slash ? slash + 1 : o->module;
    return 0;
}

/* The VFS: a writable in-memory root with /tmp, and the --dir mounts. */
static int build_vfs(cloche__vfs **vfs, const options *o)
{
    cloche__vfs_limits lim = {1u << 30, 1u << 20, 1024};
    if (cloche__vfs_new(vfs, &lim) != 0 ||
        cloche__vfs_mkdir_p(*vfs, "/tmp", 0) != 0)
        return CLI_EXIT_INTERNAL;
    for (size_t i = 0; i < o->ndirs; i++) {
        char host[4096], guest[4096];
        const char *sep = strstr(o->dirs[i], "::");
        size_t hl = sep ? (size_t)(sep - o->dirs[i]) : strlen(o->dirs[i]);
        const char *g = sep ? sep + 2 : o->dirs[i];
        snprintf(host, sizeof host, "%.*s", (int)hl, o->dirs[i]);
        while (g[0] == '.' && g[1] == '/')
            g += 2;
        snprintf(guest, sizeof guest, "%s%s", g[0] == '/' ? "" : "/", g);
        int rc = cloche__vfs_mount(*vfs, guest, host, 0);
        if (rc != 0) {
            fprintf(stderr, "cloche wasi-run: --dir %s: cannot mount (%d)\n",
                    o->dirs[i], rc);
            return CLI_EXIT_USAGE;
        }
    }
    return 0;
}

/* Instantiate and call _start; the exit code. */
static int run_module(wasm_engine_t *engine, wasmtime_module_t *module,
                      state *st)
{
    char err[512];
    wasmtime_store_t *store = wasmtime_store_new(engine, st, NULL);
    wasmtime_context_t *ctx = wasmtime_store_context(store);
    wasmtime_linker_t *linker = wasmtime_linker_new(engine);
    int code = CLI_EXIT_INTERNAL;
    wasmtime_instance_t inst;
    wasm_trap_t *trap = NULL;
    wasmtime_error_t *e = NULL;
    wasmtime_extern_t start;
    if (define_imports(linker, err, sizeof err) != 0) {
        fprintf(stderr, "cloche wasi-run: %s\n", err);
    } else if ((e = wasmtime_linker_instantiate(linker, ctx, module, &inst,
                                                &trap)) != NULL || trap) {
        code = CLI_EXIT_USAGE; /* imports it lacks, a start trap */
    } else if (!wasmtime_instance_export_get(ctx, &inst, "_start", 6,
                                             &start) ||
               start.kind != WASMTIME_EXTERN_FUNC) {
        fprintf(stderr, "cloche wasi-run: not a command module (no "
                        "_start)\n");
        code = CLI_EXIT_USAGE;
    } else {
        e = wasmtime_func_call(ctx, &start.of.func, NULL, 0, NULL, 0, &trap);
        code = st->exited ? (int)st->exit_code
               : st->output_full ? CLI_EXIT_LIMIT
               : (e || trap)     ? EXIT_TRAP
                                 : 0;
        if (st->exited || st->output_full) { /* our own traps */
            if (trap)
                wasm_trap_delete(trap);
            if (e)
                wasmtime_error_delete(e);
            trap = NULL;
            e = NULL;
        }
        if (st->output_full)
            fprintf(stderr, "cloche wasi-run: output over %u bytes\n",
                    OUTPUT_CAP);
    }
    if (e || trap) {
        wasm_name_t msg;
        if (e)
            wasmtime_error_message(e, &msg);
        else
            wasm_trap_message(trap, &msg);
        fprintf(stderr, "cloche wasi-run: %.*s\n", (int)msg.size, msg.data);
        wasm_byte_vec_delete(&msg);
        if (e)
            wasmtime_error_delete(e);
        if (trap)
            wasm_trap_delete(trap);
    }
    wasmtime_linker_delete(linker);
    wasmtime_store_delete(store);
    return code;
}

int cli_wasi_run_main(int argc, char **argv)
{
    options o;
    memset(&o, 0, sizeof o);
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 ||
                     strcmp(argv[1], "-h") == 0)) {
        fputs(usage, stdout);
        return CLI_EXIT_OK;
    }
    if (parse(&o, argc, argv) != 0) {
        fputs(usage, stderr);
        return CLI_EXIT_USAGE;
    }
    size_t len = 0;
    char *bytes = read_file(o.module, &len);
    if (!bytes) {
        fprintf(stderr, "cloche wasi-run: cannot read %s\n", o.module);
        return CLI_EXIT_USAGE;
    }
    cloche__vfs *vfs = NULL;
    int code = build_vfs(&vfs, &o);
    cloche__wasi_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.argv = o.args;
    cfg.argc = o.nargs;
    cfg.env = o.env;
    cfg.envc = o.nenv;
    cfg.stdout_cap = cfg.stderr_cap = OUTPUT_CAP;
    cfg.root = vfs;
    cfg.on_output = on_output;
    state st = {0};
    if (code == 0 && cloche__wasi_new(&st.w, &cfg) != 0) {
        fprintf(stderr, "cloche wasi-run: argv or environment refused\n");
        code = CLI_EXIT_USAGE;
    }
    wasm_engine_t *engine = code == 0 ? wasm_engine_new() : NULL;
    wasmtime_module_t *module = NULL;
    if (engine) {
        wasmtime_error_t *e = wasmtime_module_new(
            engine, (const uint8_t *)bytes, len, &module);
        if (e) {
            wasm_name_t msg;
            wasmtime_error_message(e, &msg);
            fprintf(stderr, "cloche wasi-run: %s: %.*s\n", o.module,
                    (int)msg.size, msg.data);
            wasm_byte_vec_delete(&msg);
            wasmtime_error_delete(e);
            code = CLI_EXIT_USAGE;
        } else {
            code = run_module(engine, module, &st);
        }
    }
    fflush(stdout);
    if (module)
        wasmtime_module_delete(module);
    if (engine)
        wasm_engine_delete(engine);
    cloche__wasi_free(st.w);
    cloche__vfs_free(vfs);
    free(bytes);
    return code;
}
