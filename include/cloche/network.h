/** Network access for a sandbox: off unless granted; secrets. */
#ifndef CLOCHE_NETWORK_H
#define CLOCHE_NETWORK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * One allow-list entry. `host` is an exact name ("api.example.com"), a
 * wildcard ("*.example.com": any subdomain at any depth, not the apex) or
 * an IP literal ("203.0.113.7", "2001:db8::1", no brackets); matched
 * case-insensitively. `port` 0 allows any port.
 */
typedef struct cloche_net_rule {
    const char *host;
    uint16_t port;
} cloche_net_rule;

/**
 * A secret the guest can use but never see. The guest finds a placeholder
 * in os.environ[name]. A connection to a host matching one of `hosts`
 * (over verified TLS, unless secrets_allow_plaintext) carries the secret:
 * it may only speak HTTP/1.x, and the placeholder is replaced by `value`
 * inside request header values (never in URLs or bodies); its responses
 * are scrubbed after chunked framing is undone, and compressed ones are
 * refused (docs/network.md). The value is replaced by the placeholder in
 * everything that comes back: bytes received from any host, the result's
 * stdout/stderr/value/exception, live output and files read out with
 * cloche_sandbox_read_file. Image snapshots never contain a value
 * (cloche_snapshot_save refuses with CLOCHE_ESECRET).
 */
typedef struct cloche_secret {
    const char *name;  /**< [A-Za-z0-9_], 1..64 chars, e.g. "API_KEY" */
    const char *value; /**< 8..16384 bytes, no NUL */
    const cloche_net_rule *hosts; /**< where it may be sent (1..64) */
    size_t host_count;
    /** What the guest sees; NULL: a fresh random one per sandbox, as long
     *  as the value when it is 16..256 bytes ("CLOCHE_<name>_<hex>" or
     *  "CLOCHE_<hex>"), so a response reflecting the secret keeps its
     *  length (other lengths: the host re-frames such answers); otherwise
     *  "CLOCHE_SECRET_<name>_<32 hex>". Give a fixed one (16..256 bytes,
     *  ideally as long as the value) when a session is snapshotted in one
     *  sandbox and restored in another. */
    const char *placeholder;
} cloche_secret;

/**
 * Network grant (cloche_sandbox_options.network). Copied by
 * cloche_sandbox_new. Every check is done by the host on each connection:
 * the name must match the allow-list, the host resolves it once, and every
 * resolved address must be public (loopback, private, link-local, CGNAT,
 * cloud metadata, multicast, reserved and IPv4-mapped/NAT64 forms of them
 * are refused unless allow_private); the connection goes to the very
 * address that was checked. TLS is done by the host with OpenSSL,
 * certificates verified against the system store (plus extra_ca_file);
 * the guest cannot turn verification off. docs/network.md has the rules.
 */
typedef struct cloche_network_options {
    const cloche_net_rule *allow; /**< empty: the network stays off */
    size_t allow_count;
    int allow_private;            /**< nonzero: skip the address check */
    uint32_t max_connections;     /**< per run; 0: 64 */
    uint64_t max_bytes_out;       /**< per run; 0: 64 MiB */
    uint64_t max_bytes_in;        /**< per run; 0: 256 MiB */
    uint64_t connect_timeout_ms;  /**< resolve + connect + TLS; 0: 10 s */
    uint64_t io_timeout_ms;       /**< a blocking send/recv; 0: 30 s */
    const char *extra_ca_file;    /**< PEM trusted besides the system CAs */
    const cloche_secret *secrets;
    size_t secret_count;
    /** Nonzero: substitute secrets over plain TCP too (default: only inside
     *  verified TLS, so they never cross the network in clear). */
    int secrets_allow_plaintext;
} cloche_network_options;

#ifdef __cplusplus
}
#endif
#endif
