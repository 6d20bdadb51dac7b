/** Status codes returned by cloche's fallible functions. */
#ifndef CLOCHE_ERRORS_H
#define CLOCHE_ERRORS_H

#ifdef __cplusplus
extern "C" {
#endif

/*
 * X(name, value, message). One list generates the enum, cloche_status_name
 * and cloche_strerror, so they cannot drift apart.
 */
#define CLOCHE_STATUS_LIST(X)                                                  \
    X(CLOCHE_OK, 0, "success")                                                 \
    X(CLOCHE_EINVAL, -1, "invalid argument")                                   \
    X(CLOCHE_ENOMEM, -2, "out of host memory")                                 \
    X(CLOCHE_EIO, -3, "host I/O error")                                        \
    X(CLOCHE_EENGINE, -4, "WebAssembly engine failure")                       \
    X(CLOCHE_EGUEST, -5, "guest runtime violated the protocol")                \
    X(CLOCHE_EBUSY, -6, "sandbox is in use by another thread")                 \
    X(CLOCHE_ESTATE, -7, "operation not valid in the current state")           \
    X(CLOCHE_ENOTFOUND, -8, "not found")                                       \
    X(CLOCHE_ETOOBIG, -9, "input exceeds a size cap")                        \
    X(CLOCHE_EFORMAT, -10, "not a cloche snapshot, or an unsupported version") \
    X(CLOCHE_ETRUNCATED, -11, "snapshot is truncated")                        \
    X(CLOCHE_ECORRUPT, -12, "snapshot is corrupted")                          \
    X(CLOCHE_EBUILD, -13, "snapshot is from a different guest build")         \
    X(CLOCHE_EAUTH, -14, "snapshot authentication failed (wrong key)")        \
    X(CLOCHE_EUNPICKLABLE, -15, "some globals cannot be pickled")           \
    X(CLOCHE_ESECRET, -16, "the snapshot would contain a secret's value")

typedef enum cloche_status {
#define CLOCHE__STATUS_ENUM(name, value, msg) name = value,
    CLOCHE_STATUS_LIST(CLOCHE__STATUS_ENUM)
#undef CLOCHE__STATUS_ENUM
} cloche_status;

/** Symbolic name of a status ("CLOCHE_EINVAL"); "CLOCHE_E?" if unknown.
 *  Returns a static string. Thread-safe. */
const char *cloche_status_name(int status);

/** Human-readable message for a status. Returns a static string.
 *  Thread-safe. */
const char *cloche_strerror(int status);

#ifdef __cplusplus
}
#endif
#endif
