/*
 * A sandbox's network grant: the public options turned into a policy for
 * the network core (src/net/), the secrets' placeholders put into the
 * guest's environment, and scrubbing of secret values from what leaves the
 * sandbox towards the embedder.
 *
 * The network context lives as long as the sandbox (not the instance):
 * placeholders stay the same across resets, connections are closed by
 * every teardown and counters restart with every run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "internal.h"
#include "net/net.h"

/* The options' rules in the core's type (same fields, other names). */
static cloche__net_rule *convert_rules(const cloche_net_rule *r, size_t n) {
    cloche__net_rule *out = calloc(n ? n : 1, sizeof *out);
    for (size_t i = 0; out && i < n; i++) {
        out[i].host_pattern = r[i].host;
        out[i].port = r[i].port;
    }
    return out;
}

typedef struct policy_parts {
    cloche__net_rule *allow;
    cloche__net_secret *secrets;
    cloche__net_rule **secret_hosts;
    char (*placeholders)[CLOCHE__NET_MAX_PLACEHOLDER + 1];
    size_t nsecrets;
} policy_parts;

static void parts_free(policy_parts *p) {
    for (size_t i = 0; p->secret_hosts && i < p->nsecrets; i++)
        free(p->secret_hosts[i]);
    free(p->secret_hosts);
    free(p->secrets);
    free(p->allow);
    free(p->placeholders);
}

/* A fresh placeholder as long as the value, so a response that reflects
 * the secret keeps its length (Content-Length, chunk sizes stay right):
 * "CLOCHE_<NAME>_" (or just "CLOCHE_" when the name does not fit) and
 * random hex. Values shorter than the core's minimum placeholder get the
 * core's longer form. 0 or -1. */
static int make_placeholder(char *out, size_t cap, const char *name,
                            size_t value_len) {
    if (value_len < CLOCHE__NET_MIN_PLACEHOLDER || value_len >= cap)
        return cloche__net_make_placeholder(out, cap, name);
    int n = snprintf(out, cap, "CLOCHE_%s_", name);
    if (n < 0 || (size_t)n + 16 > value_len)
        n = snprintf(out, cap, "CLOCHE_");
    unsigned char rnd[CLOCHE__NET_MAX_PLACEHOLDER];
    if (RAND_bytes(rnd, (int)(value_len - (size_t)n)) != 1)
        return -1;
    static const char hex[] = "0123456789abcdef";
    for (size_t i = (size_t)n; i < value_len; i++)
        out[i] = hex[rnd[i - (size_t)n] & 15];
    out[value_len] = '\0';
    return 0;
}

/* Fill secret i of the policy; its placeholder is the embedder's or new. */
static int convert_secret(policy_parts *p, size_t i, const cloche_secret *s) {
    if (!s->name || !s->value || (!s->hosts && s->host_count))
        return CLOCHE_EINVAL;
    if (!(p->secret_hosts[i] = convert_rules(s->hosts, s->host_count)))
        return CLOCHE_ENOMEM;
    char *ph = p->placeholders[i];
    if (s->placeholder)
        snprintf(ph, sizeof p->placeholders[i], "%s", s->placeholder);
    else if (make_placeholder(ph, sizeof p->placeholders[i], s->name,
                              strlen(s->value)) != 0)
        return CLOCHE_EINVAL; /* a bad name; the policy check says so */
    p->secrets[i] = (cloche__net_secret){s->name, s->value, ph,
                                         p->secret_hosts[i], s->host_count};
    return 0;
}

static int convert(policy_parts *p, cloche__net_policy *pol,
                   const cloche_network_options *o) {
    if ((!o->allow && o->allow_count) || (!o->secrets && o->secret_count))
        return CLOCHE_EINVAL;
    size_t n = o->secret_count;
    p->nsecrets = n;
    p->allow = convert_rules(o->allow, o->allow_count);
    p->secrets = calloc(n ? n : 1, sizeof *p->secrets);
    p->secret_hosts = calloc(n ? n : 1, sizeof *p->secret_hosts);
    p->placeholders = calloc(n ? n : 1, sizeof *p->placeholders);
    if (!p->allow || !p->secrets || !p->secret_hosts || !p->placeholders)
        return CLOCHE_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        int rc = convert_secret(p, i, &o->secrets[i]);
        if (rc != 0)
            return rc;
    }
    *pol = (cloche__net_policy){
        .allow = p->allow, .nallow = o->allow_count,
        .allow_private = o->allow_private != 0,
        .max_connections = o->max_connections,
        .max_bytes_out = o->max_bytes_out, .max_bytes_in = o->max_bytes_in,
        .connect_timeout_ms = o->connect_timeout_ms,
        .io_timeout_ms = o->io_timeout_ms,
        .extra_ca_file = o->extra_ca_file,
        .secrets = p->secrets, .nsecrets = n,
        .secrets_allow_plaintext = o->secrets_allow_plaintext != 0,
    };
    return 0;
}

/* Append "NAME=placeholder" for every secret to the guest's environment. */
static int add_placeholders_to_env(cloche_sandbox *sb, const policy_parts *p) {
    size_t n = sb->env.count + p->nsecrets;
    char **items = realloc(sb->env.items, (n ? n : 1) * sizeof *items);
    if (!items)
        return CLOCHE_ENOMEM;
    sb->env.items = items;
    for (size_t i = 0; i < p->nsecrets; i++) {
        size_t len = strlen(p->secrets[i].name) +
                     strlen(p->secrets[i].placeholder) + 2;
        char *kv = malloc(len);
        if (!kv)
            return CLOCHE_ENOMEM;
        snprintf(kv, len, "%s=%s", p->secrets[i].name,
                 p->secrets[i].placeholder);
        items[sb->env.count++] = kv;
    }
    return 0;
}

int cloche__network_setup(cloche_sandbox *sb, const cloche_network_options *o) {
    if (!o)
        return 0;
    policy_parts parts;
    memset(&parts, 0, sizeof parts);
    cloche__net_policy pol;
    char why[256] = "";
    int rc = convert(&parts, &pol, o);
    if (rc == 0 && cloche__net_policy_check(&pol, why, sizeof why) != 0)
        rc = CLOCHE_EINVAL;
    if (rc == 0 && cloche__net_new(&sb->net, &pol) != 0)
        rc = CLOCHE_ENOMEM;
    if (rc == 0)
        rc = add_placeholders_to_env(sb, &parts);
    if (rc == 0) {
        sb->net_io_timeout_ms = o->io_timeout_ms
                                    ? o->io_timeout_ms
                                    : CLOCHE__NET_DEFAULT_IO_TIMEOUT_MS;
        sb->net_has_secrets = o->secret_count > 0;
    }
    parts_free(&parts); /* the core copied what it keeps */
    if (rc == CLOCHE_EINVAL)
        return cloche__fail(sb, rc, "bad network options: %s",
                            why[0] ? why : "NULL rules or secret fields");
    return rc ? cloche__fail(sb, rc, "out of memory") : 0;
}

/* Forget held live output (wiping it): a run torn down before its end. */
static void output_drop(cloche_sandbox *sb) {
    for (int i = 0; i < 2; i++) {
        cloche__net_scrubber_free(sb->out_scrub[i]);
        sb->out_scrub[i] = NULL;
    }
}

void cloche__network_free(cloche_sandbox *sb) {
    output_drop(sb);
    cloche__net_free(sb->net);
    sb->net = NULL;
}

int cloche__scrub_copy(const cloche_sandbox *sb, const void *in, size_t len,
                       char **out, size_t *out_len) {
    uint8_t *copy = NULL;
    size_t n = len;
    if (sb->net_has_secrets) {
        if (cloche__net_scrub(sb->net, in, len, &copy, &n) != 0)
            return CLOCHE_ENOMEM;
        uint8_t *grown = realloc(copy, n + 1); /* room for the NUL */
        if (!grown) {
            free(copy);
            return CLOCHE_ENOMEM;
        }
        copy = grown;
    } else if ((copy = malloc(len + 1)) != NULL) {
        memcpy(copy, in, len);
    } else {
        return CLOCHE_ENOMEM;
    }
    copy[n] = '\0';
    *out = (char *)copy;
    *out_len = n;
    return 0;
}

int cloche__scrub(const cloche_sandbox *sb, char **text, size_t *len) {
    if (!sb->net_has_secrets || !*text)
        return 0;
    char *clean;
    size_t n;
    if (cloche__scrub_copy(sb, *text, *len, &clean, &n) != 0)
        return CLOCHE_ENOMEM;
    OPENSSL_cleanse(*text, *len); /* the value must not linger on the heap */
    free(*text);
    *text = clean;
    *len = n;
    return 0;
}

/* Live output: values split across writes are caught by one streaming
 * scrubber per stream; a tail that may begin a value waits for the next
 * write or the end of the run. */
void cloche__network_output(cloche_sandbox *sb, int fd, const uint8_t *data,
                            size_t len) {
    if (!sb->on_output)
        return;
    if (!sb->net_has_secrets) {
        sb->on_output(sb->output_ud, fd, (const char *)data, len);
        return;
    }
    cloche__net_scrubber **s = &sb->out_scrub[fd == 2];
    const uint8_t *out;
    size_t n;
    if (!*s && cloche__net_scrubber_new(s, sb->net) != 0)
        return; /* out of memory: drop live output rather than leak */
    if (cloche__net_scrubber_feed(*s, data, len, &out, &n) == 0 && n)
        sb->on_output(sb->output_ud, fd, (const char *)out, n);
}

void cloche__network_output_end(cloche_sandbox *sb) {
    for (int i = 0; i < 2; i++) {
        const uint8_t *out;
        size_t n;
        if (sb->out_scrub[i] &&
            cloche__net_scrubber_finish(sb->out_scrub[i], &out, &n) == 0 && n)
            sb->on_output(sb->output_ud, i ? 2 : 1, (const char *)out, n);
    }
    output_drop(sb);
}

void cloche__network_run_start(cloche_sandbox *sb) {
    if (sb->net)
        cloche__net_reset_counters(sb->net); /* caps are per run */
}

void cloche__network_instance_gone(cloche_sandbox *sb) {
    if (sb->net)
        cloche__net_close_all(sb->net); /* the guest that owned them is gone */
    output_drop(sb);
}

int cloche__network_check_leak(cloche_sandbox *sb, const uint8_t *data,
                               size_t len) {
    if (!sb->net_has_secrets)
        return 0;
    uint8_t *clean;
    size_t n;
    if (cloche__net_scrub(sb->net, data, len, &clean, &n) != 0)
        return cloche__fail(sb, CLOCHE_ENOMEM, "out of memory");
    int leaked = n != len || memcmp(clean, data, len) != 0;
    OPENSSL_cleanse(clean, n);
    free(clean);
    return leaked ? cloche__fail(sb, CLOCHE_ESECRET,
                                 "the sandbox holds a secret's value (from a "
                                 "mount or a callback?); no snapshot written")
                  : 0;
}
