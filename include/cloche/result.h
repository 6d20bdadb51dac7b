/** The immutable outcome of one run. */
#ifndef CLOCHE_RESULT_H
#define CLOCHE_RESULT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cloche_result cloche_result;

/** How a run ended. */
typedef enum cloche_outcome {
    CLOCHE_OUTCOME_OK = 0,        /**< code finished (SystemExit(0) counts) */
    CLOCHE_OUTCOME_EXCEPTION = 1, /**< an uncaught Python exception */
    CLOCHE_OUTCOME_LIMIT = 2,     /**< a limit tripped; see cloche_result_limit */
    CLOCHE_OUTCOME_CRASH = 3,     /**< the guest trapped (e.g. wasm stack
                                       exhausted); the sandbox was reset */
    CLOCHE_OUTCOME_CANCELLED = 4  /**< cloche_sandbox_cancel stopped it */
} cloche_outcome;

/** Which limit tripped (CLOCHE_LIMIT_NONE unless the outcome is LIMIT). The
 *  same values select limits in cloche_sandbox_limit. */
typedef enum cloche_limit {
    CLOCHE_LIMIT_NONE = 0,
    CLOCHE_LIMIT_TIMEOUT = 1, /**< wall-clock time per run, in milliseconds */
    CLOCHE_LIMIT_FUEL = 2,    /**< wasm fuel per run (engine needs enable_fuel) */
    CLOCHE_LIMIT_MEMORY = 3,  /**< guest linear memory, in bytes */
    CLOCHE_LIMIT_STDOUT = 4,  /**< captured stdout bytes per run */
    CLOCHE_LIMIT_STDERR = 5,  /**< captured stderr bytes per run */
    CLOCHE_LIMIT_CALLBACKS = 6, /**< callback invocations per run */
    /** Milliseconds one callback may take before the guest sees
     *  TimeoutError (a setting: it never ends the run by itself). */
    CLOCHE_LIMIT_CALLBACK_TIMEOUT = 7,
    /** Callback payload bytes per run, each direction (arguments sent,
     *  results received). A call over it raises ValueError in the guest
     *  (a setting: it never ends the run by itself). */
    CLOCHE_LIMIT_CALLBACK_PAYLOAD = 8,
    /** Bytes of trace events per run (default: the stderr limit given at
     *  creation). Events past it are dropped and one CLOCHE_TRACE_CUT
     *  event says how much (a setting: it never ends the run by itself). */
    CLOCHE_LIMIT_TRACE = 9,
    /** Bytes of images per run (default CLOCHE_DEFAULT_IMAGE_BYTES, 8 MiB;
     *  see cloche_result_image). Images past it are left out (a setting:
     *  it never ends the run by itself). */
    CLOCHE_LIMIT_IMAGES = 10,
    CLOCHE_LIMIT__COUNT
} cloche_limit;

/** "ok", "exception", "limit", "crash", "cancelled". Static string. */
const char *cloche_outcome_name(cloche_outcome outcome);
/** "none", "timeout", "fuel", "memory", "stdout", "stderr", "callbacks",
 *  "callback_timeout", "callback_payload", "trace", "images". Static
 *  string. */
const char *cloche_limit_name(cloche_limit limit);

/*
 * Accessors. All returned pointers are borrowed from the result and live
 * until cloche_result_free. Strings are NUL-terminated; *len (when the
 * pointer is non-NULL) excludes the NUL. Their bytes come from the guest,
 * which is untrusted: they are normally UTF-8, but a hostile program can
 * make them anything (including embedded NULs in stdout/stderr, hence the
 * lengths). Results are immutable: any thread may read one concurrently.
 */
cloche_outcome cloche_result_outcome(const cloche_result *r);
cloche_limit cloche_result_limit(const cloche_result *r);
/** Captured stdout of the run (never NULL; may be empty). */
const char *cloche_result_stdout(const cloche_result *r, size_t *len);
/** Captured stderr of the run (never NULL; may be empty). */
const char *cloche_result_stderr(const cloche_result *r, size_t *len);
/*
 * The value and the exception are capped like output, before they leave
 * the guest: the value's repr and JSON at the stdout limit, the exception
 * message and traceback at the stderr limit, the exception type at 256
 * bytes. A text over its cap is cut (at a UTF-8 boundary) and ends in the
 * marker "[cloche: N more bytes cut: over the <stdout|stderr|name> cap of
 * C bytes]"; a value JSON over the cap is left out (NULL: cut JSON would
 * not parse). Neither changes the outcome; cloche_result_bytes_cut says
 * whether anything was cut.
 */
/** repr() of a trailing expression's value; NULL if the code did not end in
 *  an expression or the value was None. Capped (see above). */
const char *cloche_result_value_repr(const cloche_result *r);
/** The same value as JSON text; NULL if absent, not JSON-serializable, or
 *  longer than the stdout limit. */
const char *cloche_result_value_json(const cloche_result *r);
/** Exception type name ("ZeroDivisionError"); NULL unless an exception.
 *  Capped at 256 bytes. */
const char *cloche_result_exception_type(const cloche_result *r);
/** str() of the exception; NULL unless an exception. Capped. */
const char *cloche_result_exception_message(const cloche_result *r);
/** Formatted traceback text; NULL unless an exception. Capped. */
const char *cloche_result_traceback(const cloche_result *r);
/** Bytes of the value (repr and JSON), exception type, message and
 *  traceback that the caps left out; 0 when nothing was cut. */
uint64_t cloche_result_bytes_cut(const cloche_result *r);
/** Detail for LIMIT and CRASH outcomes (e.g. "timeout after 100 ms");
 *  NULL otherwise. */
const char *cloche_result_detail(const cloche_result *r);
/** Wall-clock duration of the run in nanoseconds. */
uint64_t cloche_result_duration_ns(const cloche_result *r);
/** Fuel consumed (0 when fuel metering is off). */
uint64_t cloche_result_fuel_used(const cloche_result *r);
/** Guest linear-memory size at the end of the run, in bytes (wasm memory
 *  never shrinks, so this is also the peak). */
uint64_t cloche_result_memory_bytes(const cloche_result *r);

/*
 * Images (figures as results). When a run that finished or raised leaves
 * open matplotlib figures (its code imported matplotlib.pyplot), each is
 * rendered to PNG and closed at the end of the run, in figure-number
 * order; so is a trailing value that is a Figure (or an Axes: its
 * figure). Code may add its own PNGs with `import cloche;
 * cloche.show_image(data)`, and `plt.show()` turns the figures open at
 * that point into images and closes them, as a notebook does; images
 * shown that way come first, in the order shown. A run
 * resumed after host calls, in this process or from a snapshot, collects
 * them when it ends. A figure that fails to render is a note on stderr.
 *
 * Caps: at most CLOCHE_MAX_IMAGES images and CLOCHE_LIMIT_IMAGES bytes of
 * them per run. The host checks every image (PNG signature, IHDR first,
 * chunk lengths inside the image, IEND last) and drops one that fails,
 * one over a cap (later, smaller ones may still fit) and, when the
 * sandbox has secrets, one holding a secret's value. Dropped images are
 * counted (cloche_result_images_dropped), their bytes added to
 * cloche_result_bytes_cut, and stderr ends in a line "[cloche: N images
 * left out: REASON]". Nothing about images changes the outcome.
 */
#define CLOCHE_MAX_IMAGES 64

/** How many images the run returned (0..CLOCHE_MAX_IMAGES). */
size_t cloche_result_image_count(const cloche_result *r);
/**
 * Image i (0-based, < cloche_result_image_count): its bytes, borrowed from
 * the result; *len receives the length and, if mime is non-NULL, *mime a
 * static string ("image/png"). Returns NULL (and *len 0) for i out of
 * range. The bytes passed the checks above but come from the guest:
 * decode them with a hardened image library.
 */
const uint8_t *cloche_result_image(const cloche_result *r, size_t i,
                                   size_t *len, const char **mime);
/** Images the run produced that were left out (see above). */
size_t cloche_result_images_dropped(const cloche_result *r);

/**
 * The whole result as one JSON object: {"outcome", "stdout", "stderr",
 * "value", "value_repr", "exception": {type, message, traceback} | null,
 * "limit": name | null, "detail", "duration_ms", "memory", "fuel", "cut",
 * "images": [{"mime", "base64"}], "images_dropped"}
 * ("cut": cloche_result_bytes_cut; "base64": the image, RFC 4648).
 * Returns a string owned by the caller (free with cloche_string_free), or
 * NULL on allocation failure.
 */
char *cloche_result_to_json(const cloche_result *r);

/** Free a string returned by cloche. NULL accepted. */
void cloche_string_free(char *s);

/** Free a result. NULL accepted. */
void cloche_result_free(cloche_result *r);

#ifdef __cplusplus
}
#endif
#endif
