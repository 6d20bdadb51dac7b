/** A sandbox: one isolated Python interpreter and its limits. */
#ifndef CLOCHE_SANDBOX_H
#define CLOCHE_SANDBOX_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "network.h"
#include "result.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cloche_sandbox cloche_sandbox;

#define CLOCHE_SANDBOX_OPTIONS_VERSION 3

/** Defaults applied when an option is 0. */
#define CLOCHE_DEFAULT_TIMEOUT_MS 30000u
#define CLOCHE_DEFAULT_MEMORY_LIMIT (256u * 1024u * 1024u)
#define CLOCHE_DEFAULT_OUTPUT_LIMIT (1u * 1024u * 1024u)
#define CLOCHE_DEFAULT_CALLBACKS 10000u
#define CLOCHE_DEFAULT_CALLBACK_TIMEOUT_MS 30000u
#define CLOCHE_DEFAULT_CALLBACK_PAYLOAD (16u * 1024u * 1024u)
#define CLOCHE_DEFAULT_IMAGE_BYTES (8u * 1024u * 1024u)
#define CLOCHE_DEFAULT_DATA_DIR "/data"
#define CLOCHE_DEFAULT_VFS_QUOTA (64u * 1024u * 1024u)
#define CLOCHE_DEFAULT_VFS_FILES 10000u

/** Called with output as the guest writes it (fd 1 or 2), on the thread
 *  running the sandbox, before the write returns to the guest: a slow
 *  callback slows the guest down (back-pressure) instead of output piling
 *  up. Must not call into the same sandbox. */
typedef void (*cloche_output_fn)(void *userdata, int fd, const char *data,
                                 size_t len);

/** Kinds of trace events. */
typedef enum cloche_trace_kind {
    CLOCHE_TRACE_LINE = 0,      /**< a line of user code is about to run */
    CLOCHE_TRACE_CALL = 1,      /**< a user function was entered */
    CLOCHE_TRACE_RETURN = 2,    /**< a user function returned */
    CLOCHE_TRACE_EXCEPTION = 3, /**< an exception was raised in user code */
    /** The run's trace reached CLOCHE_LIMIT_TRACE: its later events were
     *  dropped. The last event of that run; line and run are 0, `name`
     *  says "N bytes of trace events dropped: over the trace cap of C
     *  bytes". */
    CLOCHE_TRACE_CUT = 4
} cloche_trace_kind;

/** Longest name a trace event keeps, in bytes: a longer one is cut to
 *  this length (at a UTF-8 boundary) followed by "[cloche: N more bytes
 *  cut]". */
#define CLOCHE_TRACE_NAME_MAX 256

/** One trace event; `name` is the function (CALL/RETURN), the exception
 *  type (EXCEPTION) or "" (LINE), with secrets' values replaced by their
 *  placeholders like every output. Borrowed for the duration of the
 *  call. */
typedef struct cloche_trace_event {
    cloche_trace_kind kind;
    uint32_t line;
    uint32_t run; /**< which run of the sandbox defined the code (1, 2, …) */
    const char *name;
} cloche_trace_event;

/** Called with trace events in order, in batches (at most every 256
 *  events and at the end of each run), on the thread running the sandbox. */
typedef void (*cloche_trace_fn)(void *userdata,
                                const cloche_trace_event *events, size_t n);

/** A host directory or file shown to the guest (cloche_sandbox_options).
 *  The host path is opened when the sandbox is created and again at every
 *  reset; the guest then reaches only what lies beneath it: `..`,
 *  absolute paths and symbolic links (even ones the guest or another host
 *  process creates) never lead out, and links are never followed. Hard
 *  links and renames out of the mount are refused. Mounted files are not
 *  charged to the VFS quota: the mount is a deliberate grant of host
 *  storage. Image snapshots record a mount by guest path and mode only;
 *  a snapshot restores only into a sandbox with the same mounts. */
typedef struct cloche_mount {
    const char *host_path;  /**< directory or regular file on the host */
    const char *guest_path; /**< absolute guest path, not "/" */
    int readonly;           /**< nonzero: every guest write is EROFS */
} cloche_mount;

/** Sandbox options. Initialize with CLOCHE_SANDBOX_OPTIONS_INIT. Copied (with
 *  every string they point to) by cloche_sandbox_new. */
typedef struct cloche_sandbox_options {
    unsigned version;      /**< CLOCHE_SANDBOX_OPTIONS_VERSION */
    uint64_t timeout_ms;   /**< per run; 0: CLOCHE_DEFAULT_TIMEOUT_MS */
    uint64_t fuel;         /**< per run; 0: unlimited (needs enable_fuel) */
    uint64_t memory_limit; /**< bytes; 0: CLOCHE_DEFAULT_MEMORY_LIMIT */
    uint64_t stdout_limit; /**< bytes per run; 0: CLOCHE_DEFAULT_OUTPUT_LIMIT */
    uint64_t stderr_limit; /**< bytes per run; 0: CLOCHE_DEFAULT_OUTPUT_LIMIT */
    /** 0 (the default): the guest reads the host's real time. Nonzero: a
     *  fixed clock for reproducible runs: time.time() starts at this instant
     *  (ns since the Unix epoch) when the sandbox is created and advances
     *  with the sandbox's elapsed time; no host time reaches the guest. */
    uint64_t fixed_clock_ns;
    const char *const *env; /**< "NAME=VALUE" strings seen by the guest */
    size_t env_count;
    const char *const *argv; /**< sys.argv; empty by default */
    size_t argc;
    /** Writable in-memory folder ("/data" if NULL); /tmp is writable too.
     *  Both count against the quotas below; files persist across runs and
     *  are part of image snapshots. */
    const char *data_dir;
    uint64_t vfs_quota;     /**< bytes of file data; 0: 64 MiB */
    uint64_t vfs_max_files; /**< files and folders; 0: 10000 */
    cloche_output_fn on_output; /**< live output; NULL: captured only */
    void *output_userdata;
    /** Line tracing of user code; NULL: off, with no cost at all. */
    cloche_trace_fn on_trace;
    void *trace_userdata;
    /** Host folders and files to show the guest (at most 64). A guest path
     *  may be the data_dir, which then lives on the host. */
    const cloche_mount *mounts;
    size_t mount_count;
    /** Network access and secrets; NULL: no network (cloche/network.h). */
    const cloche_network_options *network;
    /** Files open at once through mounts (each holds a host descriptor);
     *  beyond, opening fails with EMFILE in the guest. 0: 64; at most
     *  1056. */
    uint32_t max_open_host_files;
} cloche_sandbox_options;

#define CLOCHE_SANDBOX_OPTIONS_INIT                                            \
    {CLOCHE_SANDBOX_OPTIONS_VERSION,                                           \
     0,                                                                        \
     0,                                                                        \
     0,                                                                        \
     0,                                                                        \
     0,                                                                        \
     0,                                                                        \
     NULL,                                                                     \
     0,                                                                        \
     NULL,                                                                     \
     0,                                                                        \
     NULL,                                                                     \
     0,                                                                        \
     0,                                                                        \
     NULL,                                                                     \
     NULL,                                                                     \
     NULL,                                                                     \
     NULL,                                                                     \
     NULL,                                                                     \
     0,                                                                        \
     NULL,                                                                     \
     0}

/**
 * Create a sandbox from the engine's pre-initialized image. Its interpreter
 * is already running: the first run pays no start-up.
 *
 * @param out     receives the sandbox (owned; cloche_sandbox_free)
 * @param engine  borrowed; must outlive the sandbox
 * @param options NULL for defaults; copied
 * @return 0, CLOCHE_EINVAL (bad option, e.g. fuel without enable_fuel,
 *         or a mount whose host object is neither a folder nor a file),
 *         CLOCHE_ENOTFOUND (a mount's host path is missing), CLOCHE_EIO
 *         (a mount's host path is not accessible), CLOCHE_ENOMEM or
 *         CLOCHE_EENGINE; the detail is in cloche_sandbox_errmsg(NULL).
 * Thread-safety: any thread; the engine may be shared.
 */
int cloche_sandbox_new(cloche_sandbox **out, cloche_engine *engine,
                       const cloche_sandbox_options *options);

/** Free a sandbox. NULL accepted. Must not race with a call on it. */
void cloche_sandbox_free(cloche_sandbox *sb);

/**
 * Run Python source in the sandbox. Top-level `await` is allowed; the value
 * of a trailing expression is returned in the result. Globals persist
 * between runs of the same sandbox until cloche_sandbox_reset.
 *
 * A limit, exception or trap is an outcome in *out, not an error. After a
 * LIMIT (other than stdout/stderr) or CRASH outcome the interpreter state
 * cannot be trusted, so the sandbox resets itself to the image before its
 * next run; its globals are gone.
 *
 * @param out  receives the result (owned; cloche_result_free); NULL on error
 * @param sb   the sandbox
 * @param code UTF-8 source, need not be NUL-terminated (invalid UTF-8 is an
 *             exception outcome, not an error)
 * @param len  bytes of code
 * @return 0, CLOCHE_EINVAL, CLOCHE_EBUSY (another thread is using sb),
 *         CLOCHE_ENOMEM, CLOCHE_ETOOBIG (code larger than guest memory
 *         allows), CLOCHE_EENGINE or CLOCHE_EGUEST (detail in
 *         cloche_sandbox_errmsg).
 */
int cloche_run(cloche_result **out, cloche_sandbox *sb, const char *code,
               size_t len);

/**
 * Return the sandbox to the pre-initialized image: a fresh interpreter with
 * no user globals. Costs a re-instantiation from the copy-on-write image.
 * @return 0, CLOCHE_EBUSY, CLOCHE_ENOMEM or CLOCHE_EENGINE.
 */
int cloche_sandbox_reset(cloche_sandbox *sb);

/**
 * Do a new (or reset) sandbox's first-run work now, so that its first real
 * run costs what later ones do: the instance adopts its own random seeds,
 * environment and arguments, and a few typical snippets run to touch the
 * pages and code paths a run uses. Leaves no trace: no globals, and run
 * numbering (`<cloche:N>` in tracebacks) starts again. On a sandbox that
 * has run code it does nothing. cloche_pool does this to every sandbox it
 * hands out; an embedder keeping its own pool calls it off the hot path.
 * Same thread rules as cloche_run.
 * @return 0, CLOCHE_EBUSY, CLOCHE_ESTATE (a run is pending), CLOCHE_ENOMEM,
 *         CLOCHE_EENGINE or CLOCHE_EGUEST.
 */
int cloche_sandbox_warm(cloche_sandbox *sb);

/**
 * Read and optionally change a limit (SQLite-style): returns the previous
 * value; a negative new_value only reads. Takes effect from the next run
 * (the memory limit immediately). Returns -1 for an unknown limit, or for
 * CLOCHE_LIMIT_FUEL > 0 when the engine was created without enable_fuel.
 * Same thread rules as cloche_run.
 */
int64_t cloche_sandbox_limit(cloche_sandbox *sb, cloche_limit which,
                             int64_t new_value);

/**
 * Put a file into the sandbox's in-memory filesystem (folders are created
 * as needed), replacing any file there. The bytes are copied and count
 * against the VFS quota. Typical use: upload a CSV before a run.
 * @return 0, CLOCHE_EINVAL (bad path), CLOCHE_ETOOBIG (quota),
 *         CLOCHE_EBUSY, CLOCHE_ENOMEM.
 */
int cloche_sandbox_write_file(cloche_sandbox *sb, const char *path,
                              const void *data, size_t len);

/**
 * Read a file out of the sandbox's in-memory filesystem.
 * @param out receives a copy owned by the caller (cloche_buffer_free)
 * @return 0, CLOCHE_ENOTFOUND (no such file), CLOCHE_EINVAL (a folder),
 *         CLOCHE_EBUSY, CLOCHE_ENOMEM.
 */
int cloche_sandbox_read_file(void **out, size_t *len, cloche_sandbox *sb,
                             const char *path);

/**
 * Make a pure-Python package importable from the next run on, surviving
 * resets. A wheel (.whl) or zip file is read once from the host and served
 * read-only, in place (zipimport, no extraction), at /packages/<file name>;
 * a folder is mounted read-only at /packages/<folder name> (see
 * cloche_mount: the guest reaches nothing outside it). Either way the path
 * is put on sys.path, so a folder should hold the top-level packages.
 * @return 0, CLOCHE_ENOTFOUND / CLOCHE_EIO (host file or folder),
 *         CLOCHE_EINVAL (not a .whl/.zip/folder, or the same name twice),
 *         CLOCHE_ETOOBIG (over 256 MiB), CLOCHE_EBUSY, CLOCHE_ENOMEM.
 */
int cloche_sandbox_add_package(cloche_sandbox *sb, const char *host_path);

/** Message describing the last error returned for this sandbox. Borrowed;
 *  valid until the next call on the sandbox. Never NULL. With sb NULL:
 *  why this thread's last cloche_sandbox_new failed (e.g. which mount). */
const char *cloche_sandbox_errmsg(const cloche_sandbox *sb);

#ifdef __cplusplus
}
#endif
#endif
