/*
 * policy.c - host names, allow-list rules and blocked address ranges.
 *
 * Owns the answer to two questions: "may the guest name this host:port?"
 * (before anything touches the network) and "may we connect to this
 * address?" (after resolution). Both are pure functions of their inputs.
 *
 * Invariants: a host that passed cloche__net_host_parse is printable ASCII,
 * lowercase, without a trailing dot, and either a DNS name that no resolver
 * reads as a number, or an IP literal also kept in binary. Rules are
 * compiled with the same parser, so a rule and a host compare like for
 * like; an IP rule matches only the same IP literal, never a name.
 *
 * It never resolves, never connects and never allocates.
 */
#define _DEFAULT_SOURCE

#include "net/net_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* ---- host names --------------------------------------------------------- */

static int is_label_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
           ch == '_';
}

/* Resolvers (inet_aton) accept "127.1", "0x7f.0.0.1", "017.1", "2130706433":
 * a name whose last label is all digits, or 0x + hex, is such a number. */
static int last_label_numeric(const char *s, size_t len)
{
    size_t start = len;
    while (start > 0 && s[start - 1] != '.')
        start--;
    const char *l = s + start;
    size_t n = len - start;
    size_t i = 0;
    if (n >= 2 && l[0] == '0' && l[1] == 'x') {
        i = 2; /* "0x" alone is numeric to inet_aton too */
        for (; i < n; i++)
            if (!((l[i] >= '0' && l[i] <= '9') || (l[i] >= 'a' && l[i] <= 'f')))
                return 0;
        return 1;
    }
    for (; i < n; i++)
        if (l[i] < '0' || l[i] > '9')
            return 0;
    return n > 0;
}

static int check_dns_name(const char *s, size_t len)
{
    if (len == 0 || len > CLOCHE__NET_HOST_MAX)
        return CLOCHE__NET_EINVAL;
    size_t label = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.') {
            if (label == 0)
                return CLOCHE__NET_EINVAL; /* empty label: "a..b", ".a" */
            label = 0;
            continue;
        }
        if (!is_label_char((unsigned char)s[i]) || ++label > 63)
            return CLOCHE__NET_EINVAL;
    }
    if (label == 0 || last_label_numeric(s, len))
        return CLOCHE__NET_EINVAL;
    return 0;
}

int cloche__net_host_parse(cloche__net_host *out, const char *host)
{
    memset(out, 0, sizeof *out);
    if (!host)
        return CLOCHE__NET_EINVAL;
    size_t len = strnlen(host, CLOCHE__NET_HOST_MAX + 2);
    if (len == 0 || len > CLOCHE__NET_HOST_MAX + 1)
        return CLOCHE__NET_EINVAL;
    char buf[CLOCHE__NET_HOST_MAX + 2];
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)host[i];
        if (ch < 0x21 || ch > 0x7e)
            return CLOCHE__NET_EINVAL; /* non-ASCII, controls, spaces */
        buf[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
    }
    buf[len] = '\0';
    if (strchr(buf, ':')) {
        struct in6_addr a6;
        if (inet_pton(AF_INET6, buf, &a6) != 1)
            return CLOCHE__NET_EINVAL; /* also "[::1]" and "fe80::1%eth0" */
        out->kind = CLOCHE__NET_HOST_IP6;
        memcpy(out->ip, &a6, 16);
        inet_ntop(AF_INET6, &a6, out->name, sizeof out->name);
        return 0;
    }
    if (buf[len - 1] == '.')
        buf[--len] = '\0'; /* one trailing dot: the root, same host */
    struct in_addr a4;
    if (len > 0 && inet_pton(AF_INET, buf, &a4) == 1) {
        out->kind = CLOCHE__NET_HOST_IP4;
        memcpy(out->ip, &a4, 4);
        inet_ntop(AF_INET, &a4, out->name, sizeof out->name);
        return 0;
    }
    int rc = check_dns_name(buf, len);
    if (rc)
        return rc;
    memcpy(out->name, buf, len + 1);
    out->kind = CLOCHE__NET_HOST_NAME;
    return 0;
}

/* ---- allow-list rules ---------------------------------------------------- */

int cloche__net_rule_compile(cloche__net_crule *out, const char *pattern,
                             uint16_t port)
{
    memset(out, 0, sizeof *out);
    if (!pattern)
        return CLOCHE__NET_EINVAL;
    out->port = port;
    if (pattern[0] == '*') {
        /* "*.suffix": the suffix must itself be a name (not an IP) */
        if (pattern[1] != '.' || strchr(pattern + 2, '*'))
            return CLOCHE__NET_EINVAL;
        if (cloche__net_host_parse(&out->host, pattern + 2) ||
            out->host.kind != CLOCHE__NET_HOST_NAME)
            return CLOCHE__NET_EINVAL;
        out->kind = CLOCHE__NET_RULE_WILDCARD;
        return 0;
    }
    if (strchr(pattern, '*'))
        return CLOCHE__NET_EINVAL;
    out->kind = CLOCHE__NET_RULE_EXACT;
    return cloche__net_host_parse(&out->host, pattern);
}

int cloche__net_rule_match(const cloche__net_crule *r, const cloche__net_host *h,
                           uint16_t port)
{
    if (r->port != 0 && r->port != port)
        return 0;
    if (r->host.kind != h->kind)
        return 0;
    if (h->kind == CLOCHE__NET_HOST_IP4)
        return memcmp(r->host.ip, h->ip, 4) == 0;
    if (h->kind == CLOCHE__NET_HOST_IP6)
        return memcmp(r->host.ip, h->ip, 16) == 0;
    if (r->kind == CLOCHE__NET_RULE_EXACT)
        return strcmp(r->host.name, h->name) == 0;
    /* wildcard: h = <one or more labels> "." suffix; never the apex */
    size_t hl = strlen(h->name), sl = strlen(r->host.name);
    return hl > sl + 1 && h->name[hl - sl - 1] == '.' &&
           memcmp(h->name + hl - sl, r->host.name, sl) == 0;
}

/* ---- blocked address ranges ---------------------------------------------- */

typedef struct range4 {
    uint32_t base;
    unsigned bits;
    const char *what;
} range4;

#define V4(a, b, c, d)                                                          \
    (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) |    \
     (uint32_t)(d))

/* First match wins: the specific entries come before their supersets. */
static const range4 BLOCKED4[] = {
    {V4(0, 0, 0, 0), 8, "0.0.0.0/8 this network"},
    {V4(10, 0, 0, 0), 8, "10.0.0.0/8 private"},
    {V4(100, 64, 0, 0), 10, "100.64.0.0/10 carrier-grade NAT"},
    {V4(127, 0, 0, 0), 8, "127.0.0.0/8 loopback"},
    {V4(169, 254, 169, 254), 32, "169.254.169.254 cloud metadata"},
    {V4(169, 254, 0, 0), 16, "169.254.0.0/16 link-local"},
    {V4(172, 16, 0, 0), 12, "172.16.0.0/12 private"},
    {V4(192, 0, 0, 0), 24, "192.0.0.0/24 IETF protocol assignments"},
    {V4(192, 0, 2, 0), 24, "192.0.2.0/24 documentation"},
    {V4(192, 88, 99, 0), 24, "192.88.99.0/24 6to4 relay anycast"},
    {V4(192, 168, 0, 0), 16, "192.168.0.0/16 private"},
    {V4(198, 18, 0, 0), 15, "198.18.0.0/15 benchmarking"},
    {V4(198, 51, 100, 0), 24, "198.51.100.0/24 documentation"},
    {V4(203, 0, 113, 0), 24, "203.0.113.0/24 documentation"},
    {V4(224, 0, 0, 0), 4, "224.0.0.0/4 multicast"},
    {V4(255, 255, 255, 255), 32, "255.255.255.255 broadcast"},
    {V4(240, 0, 0, 0), 4, "240.0.0.0/4 reserved"},
};

static const char *blocked4(uint32_t a)
{
    for (size_t i = 0; i < sizeof BLOCKED4 / sizeof BLOCKED4[0]; i++) {
        uint32_t mask = BLOCKED4[i].bits ? ~0u << (32 - BLOCKED4[i].bits) : 0;
        if ((a & mask) == BLOCKED4[i].base)
            return BLOCKED4[i].what;
    }
    return NULL;
}

static uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | p[3];
}

/* How an IPv6 range is judged: outright, or by an IPv4 address inside. */
enum { V6_BLOCK, V6_EMBED_LOW32, V6_EMBED_6TO4 };

typedef struct range6 {
    uint8_t base[16];
    unsigned bits;
    int how;
    const char *what;
} range6;

static const range6 BLOCKED6[] = {
    {{0}, 128, V6_BLOCK, "::/128 unspecified"},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, V6_BLOCK,
     "::1/128 loopback"},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96, V6_EMBED_LOW32,
     "IPv4-mapped ::ffff:0:0/96"},
    {{0}, 96, V6_EMBED_LOW32, "IPv4-compatible ::/96"},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0}, 96, V6_EMBED_LOW32,
     "IPv4-translated ::ffff:0:0:0/96"},
    {{0, 0x64, 0xff, 0x9b}, 96, V6_EMBED_LOW32, "NAT64 64:ff9b::/96"},
    {{0, 0x64, 0xff, 0x9b, 0, 1}, 48, V6_BLOCK, "64:ff9b:1::/48 local NAT64"},
    {{0x01, 0x00}, 64, V6_BLOCK, "100::/64 discard-only"},
    {{0x20, 0x01, 0x0d, 0xb8}, 32, V6_BLOCK, "2001:db8::/32 documentation"},
    {{0x20, 0x01, 0, 0}, 32, V6_BLOCK, "2001::/32 Teredo"},
    {{0x20, 0x02}, 16, V6_EMBED_6TO4, "6to4 2002::/16"},
    {{0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54}, 128,
     V6_BLOCK, "fd00:ec2::254 cloud metadata"},
    {{0xfc}, 7, V6_BLOCK, "fc00::/7 unique local"},
    {{0xfe, 0x80}, 10, V6_BLOCK, "fe80::/10 link-local"},
    {{0xfe, 0xc0}, 10, V6_BLOCK, "fec0::/10 site-local"},
    {{0xff}, 8, V6_BLOCK, "ff00::/8 multicast"},
};

static int prefix_match(const uint8_t *a, const uint8_t *base, unsigned bits)
{
    unsigned whole = bits / 8, rest = bits % 8;
    if (memcmp(a, base, whole) != 0)
        return 0;
    if (rest == 0)
        return 1;
    uint8_t mask = (uint8_t)(0xffu << (8 - rest));
    return (a[whole] & mask) == (base[whole] & mask);
}

static int blocked6(const uint8_t *a, char *why, size_t whylen)
{
    for (size_t i = 0; i < sizeof BLOCKED6 / sizeof BLOCKED6[0]; i++) {
        const range6 *r = &BLOCKED6[i];
        if (!prefix_match(a, r->base, r->bits))
            continue;
        if (r->how == V6_BLOCK) {
            snprintf(why, whylen, "%s", r->what);
            return 1;
        }
        uint32_t v4 = be32(r->how == V6_EMBED_6TO4 ? a + 2 : a + 12);
        const char *inner = blocked4(v4);
        if (!inner)
            return 0; /* e.g. ::ffff:8.8.8.8 is 8.8.8.8 */
        snprintf(why, whylen, "%s embedding %s", r->what, inner);
        return 1;
    }
    return 0;
}

int cloche__net_addr_blocked(const struct sockaddr_storage *ss, char *why,
                             size_t whylen)
{
    char dummy[1];
    if (!why || whylen == 0) {
        why = dummy;
        whylen = sizeof dummy;
    }
    why[0] = '\0';
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
        const char *w = blocked4(ntohl(s4->sin_addr.s_addr));
        if (w)
            snprintf(why, whylen, "%s", w);
        return w != NULL;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
        return blocked6(s6->sin6_addr.s6_addr, why, whylen);
    }
    snprintf(why, whylen, "address family %d", (int)ss->ss_family);
    return 1;
}

void cloche__net_addr_str(const struct sockaddr_storage *ss, char *out,
                          size_t cap)
{
    const void *a = NULL;
    if (ss->ss_family == AF_INET)
        a = &((const struct sockaddr_in *)ss)->sin_addr;
    else if (ss->ss_family == AF_INET6)
        a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
    if (!a || cap > (size_t)INT32_MAX ||
        !inet_ntop(ss->ss_family, a, out, (socklen_t)cap))
        snprintf(out, cap, "?");
}
