/*
 * fuzz_net_policy.c - the network policy: host names as the guest gives
 * them, allow-list patterns, secrets, and the blocked-address check. See
 * fuzz/README.md.
 *
 * Input: NUL-separated fields. Field 0 is a guest host name, field 1 an
 * allow-list pattern; then 16 bytes make an IPv6 address; the rest build a
 * policy (patterns and secrets). Checked beyond "no crash, no leak":
 *   - normalizing a host is idempotent: its normal form parses to itself;
 *   - a rule made from a host's normal form matches that host (any port),
 *     a "*." rule over it matches one more label and not the host itself;
 *   - an IPv6 address embedding an IPv4 one (mapped, compatible, NAT64,
 *     6to4) is blocked exactly when that IPv4 address is;
 *   - cloche__net_policy_check and cloche__net_new agree.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net_int.h"

static void check(int ok)
{
    if (!ok)
        abort();
}

typedef struct fields {
    char f[24][300];
    size_t n;
} fields;

static void split(fields *fs, const uint8_t *data, size_t size)
{
    size_t at = 0;
    fs->n = 0;
    while (fs->n < 24 && at <= size) {
        size_t k = 0;
        while (at < size && data[at] != 0 && k < sizeof fs->f[0] - 1)
            fs->f[fs->n][k++] = (char)data[at++];
        fs->f[fs->n][k] = '\0';
        fs->n++;
        while (at < size && data[at] != 0)
            at++; /* the rest of an over-long field */
        at++;
    }
}

static void check_host(const char *s)
{
    cloche__net_host h, again;
    if (cloche__net_host_parse(&h, s) != 0)
        return;
    check(cloche__net_host_parse(&again, h.name) == 0);
    check(strcmp(again.name, h.name) == 0 && again.kind == h.kind);
    check(memcmp(again.ip, h.ip, sizeof h.ip) == 0);
    cloche__net_crule r;
    check(cloche__net_rule_compile(&r, h.name, 0) == 0);
    check(cloche__net_rule_match(&r, &h, 1) && cloche__net_rule_match(&r, &h, 65535));
    if (h.kind != CLOCHE__NET_HOST_NAME)
        return;
    char wild[CLOCHE__NET_HOST_MAX + 3], sub[CLOCHE__NET_HOST_MAX + 3];
    snprintf(wild, sizeof wild, "*.%s", h.name);
    snprintf(sub, sizeof sub, "x.%s", h.name);
    cloche__net_host hs;
    if (cloche__net_rule_compile(&r, wild, 443) == 0) {
        check(!cloche__net_rule_match(&r, &h, 443));
        if (cloche__net_host_parse(&hs, sub) == 0) {
            check(cloche__net_rule_match(&r, &hs, 443));
            check(!cloche__net_rule_match(&r, &hs, 80));
        }
    }
}

static void check_pattern(const char *pattern, const char *host)
{
    cloche__net_crule r;
    cloche__net_host h;
    if (cloche__net_rule_compile(&r, pattern, 0) != 0 ||
        cloche__net_host_parse(&h, host) != 0)
        return;
    (void)cloche__net_rule_match(&r, &h, 80);
}

static int blocked6(const uint8_t a[16])
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    s6->sin6_family = AF_INET6;
    memcpy(&s6->sin6_addr, a, 16);
    char why[96];
    return cloche__net_addr_blocked(&ss, why, sizeof why);
}

static int blocked4(const uint8_t a[4])
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    s4->sin_family = AF_INET;
    memcpy(&s4->sin_addr, a, 4);
    char why[96];
    return cloche__net_addr_blocked(&ss, why, sizeof why);
}

static void check_addresses(const uint8_t a[16])
{
    (void)blocked6(a);
    int v4 = blocked4(a + 12);
    uint8_t m[16] = {0};
    m[10] = m[11] = 0xff; /* ::ffff:a.b.c.d */
    memcpy(m + 12, a + 12, 4);
    check(blocked6(m) == v4);
    static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b};
    memcpy(m, nat64, 12); /* 64:ff9b::a.b.c.d */
    check(blocked6(m) == v4);
    memset(m, 0, 16); /* 2002:aabb:ccdd:: (6to4) */
    m[0] = 0x20;
    m[1] = 0x02;
    memcpy(m + 2, a + 12, 4);
    memcpy(m + 6, a + 6, 10);
    check(blocked6(m) == v4);
}

static void check_policy(const fields *fs, size_t from, uint8_t flags)
{
    cloche__net_rule rules[8];
    cloche__net_secret secrets[4];
    size_t nr = 0, ns = 0, i = from;
    while (i < fs->n && nr < 8 && fs->f[i][0] != '!')
        rules[nr++] = (cloche__net_rule){fs->f[i++], (uint16_t)(nr * 97)};
    for (i++; i + 3 < fs->n && ns < 4; i += 4)
        secrets[ns++] = (cloche__net_secret){fs->f[i], fs->f[i + 1],
                                             fs->f[i + 2], &rules[0],
                                             nr ? 1 : 0};
    cloche__net_policy p = {.allow = rules, .nallow = nr,
                            .secrets = secrets, .nsecrets = ns,
                            .allow_private = flags & 1,
                            .secrets_allow_plaintext = (flags >> 1) & 1};
    char err[256];
    int rc = cloche__net_policy_check(&p, err, sizeof err);
    cloche__net *n = NULL;
    int rc2 = cloche__net_new(&n, &p);
    check(rc == rc2 || rc2 == CLOCHE__NET_ENOMEM);
    check(rc == 0 || rc == CLOCHE__NET_EINVAL);
    if (rc2 == 0) {
        /* a secret's value never shows in what the context lets out */
        for (size_t k = 0; k < ns; k++) {
            uint8_t *out = NULL;
            size_t len = 0;
            const char *v = secrets[k].value;
            check(cloche__net_scrub(n, (const uint8_t *)v, strlen(v), &out,
                                    &len) == 0);
            check(len == strlen(secrets[k].placeholder) &&
                  memcmp(out, secrets[k].placeholder, len) == 0);
            free(out);
        }
        for (size_t k = 0; k < nr; k++) {
            char e[256];
            int h = cloche__net_connect(n, rules[k].host_pattern, 0, 0, 0,
                                        e, sizeof e);
            check(h == CLOCHE__NET_EINVAL || h == CLOCHE__NET_EDENIED);
        }
    }
    cloche__net_free(n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fields fs;
    long live = cloche__net_alloc_live();
    split(&fs, data, size);
    check_host(fs.f[0]);
    if (fs.n > 1) {
        check_host(fs.f[1]);
        check_pattern(fs.f[1], fs.f[0]);
    }
    uint8_t addr[16] = {0};
    if (fs.n > 2) {
        size_t k = strlen(fs.f[2]);
        memcpy(addr, fs.f[2], k < 16 ? k : 16);
        check_addresses(addr);
    }
    if (fs.n > 3)
        check_policy(&fs, 3, size ? data[size - 1] : 0);
    check(cloche__net_alloc_live() == live);
    return 0;
}
