/**
 * Sessions and snapshots.
 *
 * A sandbox is already a session: its globals, imports, functions, classes
 * and asyncio tasks persist between runs. This header adds:
 *   - clearing user globals without re-instantiating;
 *   - *state snapshots*: the user globals, pickled (functions and classes
 *     defined in the session pickled by value) — portable to any cloche
 *     build with the same Python minor version;
 *   - *image snapshots*: the exact sandbox (guest memory that differs from
 *     the pre-initialized image, VFS, open files, a pending run and its
 *     host calls, counters), compressed and checksummed or HMAC-signed —
 *     restorable only into the same guest build, any number of times.
 *
 * All functions here follow cloche_run's thread rules (one thread per
 * sandbox at a time; CLOCHE_EBUSY otherwise) and fail with CLOCHE_ESTATE
 * while the sandbox is in a state they cannot handle.
 */
#ifndef CLOCHE_SESSION_H
#define CLOCHE_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "sandbox.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Free a buffer returned by cloche (snapshots). NULL accepted. */
void cloche_buffer_free(void *buf);

/**
 * Delete every user global of the session (names not of the form
 * `__x__`, imported names included); the interpreter, its module cache,
 * files and running tasks stay. Not while a run is pending.
 * @return 0, CLOCHE_EBUSY, CLOCHE_ESTATE or CLOCHE_EGUEST.
 */
int cloche_sandbox_clear(cloche_sandbox *sb);

/** Flag for cloche_state_save: leave out globals that cannot be pickled
 *  (their names are listed in the snapshot) instead of failing. */
#define CLOCHE_STATE_SKIP_UNPICKLABLE 1u
/** Largest state snapshot accepted or produced. */
#define CLOCHE_STATE_MAX_BYTES (64u * 1024u * 1024u)

/**
 * Pickle the session's user globals into a state snapshot.
 * @param out     receives a buffer owned by the caller (cloche_buffer_free)
 * @return 0; CLOCHE_EUNPICKLABLE (cloche_sandbox_errmsg lists the names);
 *         CLOCHE_ETOOBIG (over CLOCHE_STATE_MAX_BYTES); CLOCHE_ESTATE (a
 *         run is pending); CLOCHE_EBUSY; CLOCHE_ENOMEM; CLOCHE_EGUEST.
 */
int cloche_state_save(uint8_t **out, size_t *out_len, cloche_sandbox *sb,
                      unsigned flags);

/**
 * Restore a state snapshot's globals into the session (same-named globals
 * are replaced, others kept). Unpickling runs inside the sandbox.
 * @return 0; CLOCHE_ETRUNCATED, CLOCHE_EFORMAT, CLOCHE_ECORRUPT (checksum
 *         or unpickling failed), CLOCHE_EBUILD (other Python version),
 *         CLOCHE_ETOOBIG; CLOCHE_ESTATE; CLOCHE_EBUSY.
 */
int cloche_state_restore(cloche_sandbox *sb, const uint8_t *data, size_t len);

#define CLOCHE_SNAPSHOT_OPTIONS_VERSION 1

/** Image snapshot options; copied. */
typedef struct cloche_snapshot_options {
    unsigned version;     /**< CLOCHE_SNAPSHOT_OPTIONS_VERSION */
    const uint8_t *key;   /**< HMAC-SHA-256 key; NULL: plain SHA-256 */
    size_t key_len;
    int compression;      /**< zstd level; 0: default (1, the fastest) */
} cloche_snapshot_options;

#define CLOCHE_SNAPSHOT_OPTIONS_INIT                                           \
    {CLOCHE_SNAPSHOT_OPTIONS_VERSION, NULL, 0, 0}

/**
 * Write the whole sandbox to an image snapshot. Allowed when idle or when
 * a run is PENDING (then the snapshot carries the run and its outstanding
 * host calls, answered or not). No wasm frame is live in either state.
 * @return 0, CLOCHE_ESTATE (no instance, or it must be reset), CLOCHE_EBUSY,
 *         CLOCHE_ENOMEM, CLOCHE_EIO.
 */
int cloche_snapshot_save(uint8_t **out, size_t *out_len, cloche_sandbox *sb,
                         const cloche_snapshot_options *options);

/**
 * Replace the sandbox's state with an image snapshot. The sandbox must use
 * an engine with the same guest build; its callbacks (which are host
 * code, not state) must be registered again on it, before or after. A
 * PENDING snapshot continues with cloche_pending_call / cloche_resume (or
 * cloche_drive); its calls without an answer are started again on this
 * sandbox's callbacks. A snapshot never sets limits: this sandbox keeps
 * its own, and a restored PENDING run gets this sandbox's full timeout
 * and fuel, counted from the restore. Restoring the same snapshot twice
 * gives two independent sandboxes (fork). On any error the sandbox is
 * left as it was.
 * @return 0; CLOCHE_ETRUNCATED, CLOCHE_EFORMAT, CLOCHE_ECORRUPT (also for
 *         run fields that contradict the rest of the snapshot, e.g. a
 *         PENDING run waiting on no host call or time left beyond the
 *         snapshot's own timeout),
 *         CLOCHE_EBUILD, CLOCHE_EAUTH (HMAC mismatch, or a signed
 *         snapshot without the key), CLOCHE_ETOOBIG (larger than the
 *         sandbox's memory limit allows); CLOCHE_EBUSY; CLOCHE_ESTATE.
 */
int cloche_snapshot_restore(cloche_sandbox *sb, const uint8_t *data,
                            size_t len, const cloche_snapshot_options *options);

/**
 * Drive a PENDING run to the end like cloche_run does (used after
 * restoring a PENDING snapshot). @return as cloche_run; CLOCHE_ESTATE if
 * no run is pending.
 */
int cloche_drive(cloche_result **out, cloche_sandbox *sb);

#ifdef __cplusplus
}
#endif
#endif
