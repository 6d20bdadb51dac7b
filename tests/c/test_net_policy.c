/*
 * test_net_policy.c - the rules before any byte moves: host names, the
 * allow-list, blocked address ranges, policy validation, and connect
 * refusing (with no server anywhere) everything the rules forbid.
 *
 * Every refusal here happens before a socket exists; the fake resolver
 * counts its calls so the tests can prove a denied name was never looked
 * up and an accepted one was looked up exactly once.
 */
#define _DEFAULT_SOURCE

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "net/net_int.h"

#define EQ assert_int_equal

/* ---- host names ------------------------------------------------------------ */

typedef struct host_case {
    const char *in;
    int rc;
    const char *name; /* normalized, when rc == 0 */
    int kind;
} host_case;

static void test_host_parse_table(void **state)
{
    (void)state;
    static const host_case cases[] = {
        {"example.com", 0, "example.com", CLOCHE__NET_HOST_NAME},
        {"EXAMPLE.Com", 0, "example.com", CLOCHE__NET_HOST_NAME},
        {"example.com.", 0, "example.com", CLOCHE__NET_HOST_NAME},
        {"example.com..", CLOCHE__NET_EINVAL, NULL, 0},
        {"", CLOCHE__NET_EINVAL, NULL, 0},
        {".", CLOCHE__NET_EINVAL, NULL, 0},
        {".example.com", CLOCHE__NET_EINVAL, NULL, 0},
        {"a..b", CLOCHE__NET_EINVAL, NULL, 0},
        {"exa mple.com", CLOCHE__NET_EINVAL, NULL, 0},
        {"ex\xc3\xa4mple.com", CLOCHE__NET_EINVAL, NULL, 0}, /* non-ASCII */
        {"\xef\xbc\x8e" "example.com", CLOCHE__NET_EINVAL, NULL, 0},
        {"xn--exmple-cua.com", 0, "xn--exmple-cua.com", CLOCHE__NET_HOST_NAME},
        {"a\tb.com", CLOCHE__NET_EINVAL, NULL, 0},
        {"a\rb.com", CLOCHE__NET_EINVAL, NULL, 0},
        {"a/b.com", CLOCHE__NET_EINVAL, NULL, 0},
        {"user@b.com", CLOCHE__NET_EINVAL, NULL, 0},
        {"b.com:443", CLOCHE__NET_EINVAL, NULL, 0},
        {"b.com%00", CLOCHE__NET_EINVAL, NULL, 0},
        {"_srv.example.com", 0, "_srv.example.com", CLOCHE__NET_HOST_NAME},
        {"localhost", 0, "localhost", CLOCHE__NET_HOST_NAME},
        {"1e100.net", 0, "1e100.net", CLOCHE__NET_HOST_NAME},
        {"127.0.0.1", 0, "127.0.0.1", CLOCHE__NET_HOST_IP4},
        {"127.0.0.1.", 0, "127.0.0.1", CLOCHE__NET_HOST_IP4},
        /* numeric forms inet_aton accepts but the allow-list never sees */
        {"127.1", CLOCHE__NET_EINVAL, NULL, 0},
        {"0x7f.0.0.1", CLOCHE__NET_EINVAL, NULL, 0},
        {"0x7f000001", CLOCHE__NET_EINVAL, NULL, 0},
        {"2130706433", CLOCHE__NET_EINVAL, NULL, 0},
        {"017.0.0.1", CLOCHE__NET_EINVAL, NULL, 0},
        {"1.2.3.4.5", CLOCHE__NET_EINVAL, NULL, 0},
        {"example.0x1f", CLOCHE__NET_EINVAL, NULL, 0},
        {"example.123", CLOCHE__NET_EINVAL, NULL, 0},
        {"::1", 0, "::1", CLOCHE__NET_HOST_IP6},
        {"0:0:0:0:0:0:0:1", 0, "::1", CLOCHE__NET_HOST_IP6},
        {"::FFFF:127.0.0.1", 0, "::ffff:127.0.0.1", CLOCHE__NET_HOST_IP6},
        {"[::1]", CLOCHE__NET_EINVAL, NULL, 0},
        {"fe80::1%eth0", CLOCHE__NET_EINVAL, NULL, 0},
        {"::1.", CLOCHE__NET_EINVAL, NULL, 0},
        {"1:2:3", CLOCHE__NET_EINVAL, NULL, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cloche__net_host h;
        int rc = cloche__net_host_parse(&h, cases[i].in);
        if (rc != cases[i].rc)
            fail_msg("host %zu \"%s\": rc %d, want %d", i, cases[i].in, rc,
                     cases[i].rc);
        if (rc == 0) {
            assert_string_equal(h.name, cases[i].name);
            EQ(h.kind, cases[i].kind);
        }
    }
    cloche__net_host h;
    EQ(cloche__net_host_parse(&h, NULL), CLOCHE__NET_EINVAL);
}

static void test_host_lengths(void **state)
{
    (void)state;
    char buf[12000];
    cloche__net_host h;
    /* one label: 63 ok, 64 not */
    memset(buf, 'a', 63);
    strcpy(buf + 63, ".com");
    EQ(cloche__net_host_parse(&h, buf), 0);
    memset(buf, 'a', 64);
    strcpy(buf + 64, ".com");
    EQ(cloche__net_host_parse(&h, buf), CLOCHE__NET_EINVAL);
    /* 253 chars total: ok, also with its trailing dot; 254: not */
    size_t len = 0;
    while (len + 64 <= 253) {
        memset(buf + len, 'b', 63);
        buf[len + 63] = '.';
        len += 64;
    }
    memset(buf + len, 'c', 253 - len);
    buf[253] = '\0';
    EQ(cloche__net_host_parse(&h, buf), 0);
    EQ(strlen(h.name), 253);
    strcpy(buf + 253, ".");
    EQ(cloche__net_host_parse(&h, buf), 0);
    strcpy(buf + 253, "c");
    EQ(cloche__net_host_parse(&h, buf), CLOCHE__NET_EINVAL);
    memset(buf, 'x', sizeof buf - 1);
    buf[sizeof buf - 1] = '\0';
    EQ(cloche__net_host_parse(&h, buf), CLOCHE__NET_EINVAL);
}

/* ---- allow-list rules ------------------------------------------------------ */

typedef struct match_case {
    const char *pattern;
    uint16_t rule_port;
    const char *host;
    uint16_t port;
    int match;
} match_case;

static void test_rule_match_table(void **state)
{
    (void)state;
    static const match_case cases[] = {
        {"api.example.com", 443, "api.example.com", 443, 1},
        {"api.example.com", 443, "API.Example.COM.", 443, 1},
        {"API.EXAMPLE.COM.", 443, "api.example.com", 443, 1},
        {"api.example.com", 443, "api.example.com", 80, 0},
        {"api.example.com", 0, "api.example.com", 8443, 1},
        {"api.example.com", 443, "example.com", 443, 0},
        {"api.example.com", 443, "x.api.example.com", 443, 0},
        {"api.example.com", 443, "api.example.com.evil.net", 443, 0},
        {"api.example.com", 443, "evilapi.example.com", 443, 0},
        {"api.example.com", 443, "api-example.com", 443, 0},
        {"*.example.com", 0, "a.example.com", 443, 1},
        {"*.example.com", 0, "a.b.example.com", 1, 1},
        {"*.example.com", 0, "A.EXAMPLE.COM.", 1, 1},
        {"*.example.com", 0, "example.com", 443, 0},
        {"*.example.com", 0, "aexample.com", 443, 0},
        {"*.example.com", 0, ".example.com", 443, 0},
        {"*.example.com", 0, "example.com.evil.net", 443, 0},
        {"*.example.com", 0, "a.example.co", 443, 0},
        {"*.example.com", 0, "a.example.com.", 443, 1},
        {"*.example.com", 443, "a.example.com", 444, 0},
        {"127.0.0.1", 0, "127.0.0.1", 80, 1},
        {"127.0.0.1", 0, "localhost", 80, 0},
        {"127.0.0.1", 0, "::ffff:127.0.0.1", 80, 0},
        {"::1", 0, "0:0::1", 80, 1},
        {"::1", 0, "::2", 80, 0},
        {"localhost", 0, "127.0.0.1", 80, 0}, /* a name never admits an IP */
        {"2001:db8::1", 8080, "2001:DB8:0::1", 8080, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cloche__net_crule r;
        cloche__net_host h;
        EQ(cloche__net_rule_compile(&r, cases[i].pattern, cases[i].rule_port),
           0);
        /* a host that does not parse never reaches matching: no match */
        int m = cloche__net_host_parse(&h, cases[i].host) == 0 &&
                cloche__net_rule_match(&r, &h, cases[i].port);
        if (m != cases[i].match)
            fail_msg("rule %zu: %s:%u vs %s:%u should be %d", i,
                     cases[i].pattern, cases[i].rule_port, cases[i].host,
                     cases[i].port, cases[i].match);
    }
}

static void test_rule_compile_invalid(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",           "*",         "*.",          "**.example.com",
        "a.*.com",    "*example.com", "*.*.example.com", "example.*",
        "*.127.0.0.1", "*.::1",    "ex ample.com", "caf\xc3\xa9.com",
        "*.1.2.3",    "[::1]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cloche__net_crule r;
        if (cloche__net_rule_compile(&r, bad[i], 0) != CLOCHE__NET_EINVAL)
            fail_msg("pattern \"%s\" should be invalid", bad[i]);
    }
    cloche__net_crule r;
    EQ(cloche__net_rule_compile(&r, NULL, 0), CLOCHE__NET_EINVAL);
}

/* ---- blocked address ranges --------------------------------------------------- */

static struct sockaddr_storage addr(const char *s)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (strchr(s, ':')) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, s, &a->sin6_addr), 1);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, s, &a->sin_addr), 1);
    }
    return ss;
}

static void test_blocked_ranges(void **state)
{
    (void)state;
    static const char *blocked[] = {
        /* IPv4, edges of every range */
        "0.0.0.0", "0.255.255.255", "10.0.0.0", "10.255.255.255",
        "100.64.0.0", "100.127.255.255", "100.100.100.200", "127.0.0.1",
        "127.255.255.254", "169.254.169.254", "169.254.0.1",
        "169.254.255.255", "172.16.0.0", "172.31.255.255", "192.0.0.1",
        "192.0.0.255", "192.0.2.1", "192.88.99.1", "192.168.0.0",
        "192.168.255.255", "198.18.0.0", "198.19.255.255", "198.51.100.7",
        "203.0.113.9", "224.0.0.1", "239.255.255.255", "240.0.0.1",
        "254.1.2.3", "255.255.255.255",
        /* IPv6 */
        "::", "::1", "fe80::1", "febf:ffff::1", "fec0::1", "fc00::1",
        "fd12:3456::1", "fdff:ffff::1", "fd00:ec2::254", "ff02::1",
        "ff0e::1", "2001:db8::1", "2001:0:4136:e378::1", "100::1",
        "64:ff9b:1::a00:1",
        /* IPv4 embedded in IPv6, judged by the IPv4 inside */
        "::ffff:127.0.0.1", "::ffff:10.1.2.3", "::ffff:169.254.169.254",
        "::ffff:0.0.0.0", "::ffff:192.168.1.1", "::127.0.0.1", "::10.0.0.1",
        "::169.254.169.254", "::0.0.0.2", "::ffff:0:127.0.0.1",
        "::ffff:0:10.0.0.1", "64:ff9b::127.0.0.1", "64:ff9b::a00:1",
        "64:ff9b::169.254.169.254", "64:ff9b::100.64.0.1",
        "2002:7f00:1::", "2002:a00:1::1", "2002:a9fe:a9fe::",
        "2002:c0a8:101::1", "2002:ac10::1",
    };
    static const char *open[] = {
        "8.8.8.8", "1.1.1.1", "93.184.216.34", "11.0.0.1", "9.255.255.255",
        "100.63.255.255", "100.128.0.0", "126.255.255.255", "128.0.0.1",
        "169.253.255.255", "169.255.0.0", "172.15.255.255", "172.32.0.0",
        "192.0.1.1", "192.167.255.255", "192.169.0.0", "198.17.255.255",
        "198.20.0.0", "223.255.255.255",
        "2606:4700:4700::1111", "2001:4860:4860::8888", "2a00:1450::1",
        "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1",
        "::8.8.8.8", "2001:1::1",
    };
    char why[128];
    for (size_t i = 0; i < sizeof blocked / sizeof blocked[0]; i++) {
        struct sockaddr_storage ss = addr(blocked[i]);
        if (!cloche__net_addr_blocked(&ss, why, sizeof why))
            fail_msg("%s should be blocked", blocked[i]);
        assert_true(why[0] != '\0');
    }
    for (size_t i = 0; i < sizeof open / sizeof open[0]; i++) {
        struct sockaddr_storage ss = addr(open[i]);
        if (cloche__net_addr_blocked(&ss, why, sizeof why))
            fail_msg("%s should pass (blocked as %s)", open[i], why);
    }
    struct sockaddr_storage ss = addr("169.254.169.254");
    cloche__net_addr_blocked(&ss, why, sizeof why);
    assert_non_null(strstr(why, "metadata"));
    ss = addr("::ffff:127.0.0.1");
    cloche__net_addr_blocked(&ss, why, sizeof why);
    assert_non_null(strstr(why, "loopback"));
    memset(&ss, 0, sizeof ss);
    ss.ss_family = AF_UNIX;
    assert_true(cloche__net_addr_blocked(&ss, NULL, 0));
}

/* ---- policy validation -------------------------------------------------------- */

#define VALUE "sk-live-0123456789abcdef"
#define PH "CLOCHE_SECRET_KEY_00112233445566778899aabbccddeeff"

static const cloche__net_rule ANY_HOST[] = {{"api.example.com", 443}};

static void test_policy_check_table(void **state)
{
    (void)state;
    char long_value[CLOCHE__NET_MAX_VALUE + 2];
    memset(long_value, 'v', sizeof long_value - 1);
    long_value[sizeof long_value - 1] = '\0';
    const cloche__net_rule bad_rule[] = {{"*.", 0}};
    struct {
        cloche__net_secret s[2];
        size_t n;
        const char *why;
    } cases[] = {
        {{{"bad-name", VALUE, PH, ANY_HOST, 1}}, 1, "name"},
        {{{"", VALUE, PH, ANY_HOST, 1}}, 1, "name"},
        {{{NULL, VALUE, PH, ANY_HOST, 1}}, 1, "name"},
        {{{"K", "short", PH, ANY_HOST, 1}}, 1, "value"},
        {{{"K", NULL, PH, ANY_HOST, 1}}, 1, "value"},
        {{{"K", long_value, PH, ANY_HOST, 1}}, 1, "value"},
        {{{"K", VALUE, "CLOCHE_SHORT", ANY_HOST, 1}}, 1, "placeholder"},
        {{{"K", VALUE, NULL, ANY_HOST, 1}}, 1, "placeholder"},
        {{{"K", VALUE, "xx" VALUE "xx", ANY_HOST, 1}}, 1, "contains"},
        {{{"K", VALUE, PH, ANY_HOST, 0}}, 1, "no hosts"},
        {{{"K", VALUE, PH, NULL, 1}}, 1, "rules"},
        {{{"K", VALUE, PH, bad_rule, 1}}, 1, "pattern"},
        {{{"A", VALUE, PH, ANY_HOST, 1}, {"B", "other-secret-1", PH "x",
                                          ANY_HOST, 1}},
         2, "overlap"},
        {{{"A", VALUE, PH, ANY_HOST, 1}, {"A", "other-secret-1",
                                          "CLOCHE_SECRET_B_0123456789", ANY_HOST,
                                          1}},
         2, "share"},
        {{{"A", VALUE, PH, ANY_HOST, 1}, {"B", VALUE,
                                          "CLOCHE_SECRET_B_0123456789", ANY_HOST,
                                          1}},
         2, "share"},
        {{{"A", VALUE, PH, ANY_HOST, 1}, {"B", "other-secret-1",
                                          "CLOCHE_SECRET_B_" VALUE, ANY_HOST,
                                          1}},
         2, "contains"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cloche__net_policy p = {.allow = ANY_HOST, .nallow = 1,
                                .secrets = cases[i].s, .nsecrets = cases[i].n};
        char err[200] = "";
        if (cloche__net_policy_check(&p, err, sizeof err) != CLOCHE__NET_EINVAL)
            fail_msg("policy case %zu should be invalid", i);
        if (!strstr(err, cases[i].why))
            fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, err,
                     cases[i].why);
        assert_null(strstr(err, VALUE)); /* never echo a secret */
        cloche__net *n = (cloche__net *)1;
        EQ(cloche__net_new(&n, &p), CLOCHE__NET_EINVAL);
        assert_null(n);
    }
    cloche__net_policy p = {.allow = NULL, .nallow = 1};
    EQ(cloche__net_policy_check(&p, NULL, 0), CLOCHE__NET_EINVAL);
    p.nallow = CLOCHE__NET_MAX_RULES + 1;
    p.allow = ANY_HOST;
    EQ(cloche__net_policy_check(&p, NULL, 0), CLOCHE__NET_EINVAL);
    const cloche__net_rule bad_allow[] = {{"ok.example.com", 0}, {"a.*", 0}};
    cloche__net_policy p2 = {.allow = bad_allow, .nallow = 2};
    EQ(cloche__net_policy_check(&p2, NULL, 0), CLOCHE__NET_EINVAL);
    cloche__net_policy p3 = {.nsecrets = CLOCHE__NET_MAX_SECRETS + 1,
                             .secrets = (const cloche__net_secret *)ANY_HOST};
    EQ(cloche__net_policy_check(&p3, NULL, 0), CLOCHE__NET_EINVAL);
    EQ(cloche__net_policy_check(NULL, NULL, 0), CLOCHE__NET_EINVAL);
    EQ(cloche__net_new(NULL, &p2), CLOCHE__NET_EINVAL);
    EQ(cloche__net_alloc_live(), 0);
}

static void test_policy_copied_and_defaults(void **state)
{
    (void)state;
    char host[] = "api.example.com";
    char value[] = VALUE;
    char ph[] = PH;
    cloche__net_rule allow[] = {{host, 443}};
    cloche__net_secret sec[] = {{"KEY", value, ph, allow, 1}};
    cloche__net_policy p = {.allow = allow, .nallow = 1, .secrets = sec,
                            .nsecrets = 1};
    cloche__net *n = NULL;
    EQ(cloche__net_new(&n, &p), 0);
    /* the caller's strings can change: n kept its own copies */
    memset(host, 'x', sizeof host - 1);
    memset(value, 'y', sizeof value - 1);
    EQ(n->max_connections, CLOCHE__NET_DEFAULT_MAX_CONNECTIONS);
    EQ(n->io_timeout_ms, CLOCHE__NET_DEFAULT_IO_TIMEOUT_MS);
    EQ(n->connect_timeout_ms, CLOCHE__NET_DEFAULT_CONNECT_TIMEOUT_MS);
    assert_true(n->max_bytes_in == CLOCHE__NET_DEFAULT_MAX_BYTES_IN);
    assert_string_equal(n->allow[0].host.name, "api.example.com");
    const uint8_t in[] = "token=" VALUE;
    uint8_t *out;
    size_t out_len;
    EQ(cloche__net_scrub(n, in, sizeof in - 1, &out, &out_len), 0);
    assert_int_equal(out_len, 6 + strlen(PH));
    assert_memory_equal(out + 6, PH, strlen(PH));
    free(out);
    cloche__net_free(n);
    cloche__net_free(NULL);
    EQ(cloche__net_alloc_live(), 0);
}

static void test_new_out_of_memory(void **state)
{
    (void)state;
    cloche__net_rule allow[] = {{"api.example.com", 443}, {"*.x.org", 0}};
    cloche__net_secret sec[] = {{"KEY", VALUE, PH, allow, 2}};
    cloche__net_policy p = {.allow = allow, .nallow = 2, .secrets = sec,
                            .nsecrets = 1, .extra_ca_file = "/tmp/x.pem"};
    int ok = 0;
    for (long k = 0; k < 100 && !ok; k++) {
        cloche__net *n = NULL;
        cloche__net_alloc_fail_after(k);
        int rc = cloche__net_new(&n, &p);
        cloche__net_alloc_fail_after(-1);
        if (rc == 0) {
            ok = 1;
            cloche__net_free(n);
        } else {
            EQ(rc, CLOCHE__NET_ENOMEM);
            assert_null(n);
        }
        EQ(cloche__net_alloc_live(), 0);
    }
    assert_true(ok);
}

static void test_error_names(void **state)
{
    (void)state;
    static const int codes[] = {
        CLOCHE__NET_EDENIED, CLOCHE__NET_EPRIVATE, CLOCHE__NET_ERESOLVE,
        CLOCHE__NET_ECONNREFUSED, CLOCHE__NET_ETIMEDOUT, CLOCHE__NET_ETLS,
        CLOCHE__NET_ELIMIT, CLOCHE__NET_EBADF, CLOCHE__NET_ECLOSED,
        CLOCHE__NET_ENOMEM, CLOCHE__NET_EIO, CLOCHE__NET_EINVAL};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        assert_true(codes[i] < 0);
        assert_string_not_equal(cloche__net_errname(codes[i]), "E?");
        assert_string_not_equal(cloche__net_strerror(codes[i]),
                                "unknown network status");
        for (size_t j = 0; j < i; j++)
            assert_int_not_equal(codes[i], codes[j]);
    }
    assert_string_equal(cloche__net_errname(CLOCHE__NET_EPRIVATE), "EPRIVATE");
    assert_string_equal(cloche__net_errname(0), "OK");
    assert_string_equal(cloche__net_errname(-999), "E?");
    assert_string_equal(cloche__net_strerror(-999), "unknown network status");
}

/* ---- connect refusals, no server needed ------------------------------------- */

typedef struct fake_dns {
    const char *addrs[CLOCHE__NET_MAX_ADDRS + 2];
    size_t n;
    int calls;
    int fail;
    int bad_family;
    size_t claim; /* if non-zero: report this many */
} fake_dns;

static int fake_resolve(void *ud, const char *host,
                        struct sockaddr_storage *out, size_t max, size_t *n)
{
    (void)host;
    fake_dns *d = ud;
    d->calls++;
    if (d->fail)
        return -1;
    for (size_t i = 0; i < d->n && i < max; i++)
        out[i] = addr(d->addrs[i]);
    if (d->bad_family)
        out[0].ss_family = AF_UNIX;
    *n = d->claim ? d->claim : d->n;
    return 0;
}

static cloche__net *net_with(const cloche__net_rule *allow, size_t nallow,
                             fake_dns *d)
{
    cloche__net_policy p = {.allow = allow, .nallow = nallow,
                            .resolve = fake_resolve, .resolve_ud = d,
                            .max_connections = 100};
    cloche__net *n = NULL;
    assert_int_equal(cloche__net_new(&n, &p), 0);
    return n;
}

#define CONNECT(n, host, port, tls)                                            \
    cloche__net_connect((n), (host), (port), (tls), CLOCHE__NET_NO_DEADLINE,  \
                        err, sizeof err)

static void test_connect_denied(void **state)
{
    (void)state;
    char err[256];
    fake_dns d = {.addrs = {"93.184.216.34"}, .n = 1};
    /* empty allow-list: network off */
    cloche__net *off = net_with(NULL, 0, &d);
    EQ(CONNECT(off, "api.example.com", 443, 1), CLOCHE__NET_EDENIED);
    assert_non_null(strstr(err, "off"));
    cloche__net_free(off);

    const cloche__net_rule allow[] = {{"api.example.com", 443},
                                      {"*.cdn.example.com", 0},
                                      {"203.0.113.7", 80}};
    cloche__net *n = net_with(allow, 3, &d);
    EQ(CONNECT(n, "evil.com", 443, 1), CLOCHE__NET_EDENIED);
    assert_non_null(strstr(err, "allow-list"));
    assert_string_equal(cloche__net_errmsg(n), err);
    EQ(CONNECT(n, "api.example.com", 80, 0), CLOCHE__NET_EDENIED);
    EQ(CONNECT(n, "example.com", 443, 1), CLOCHE__NET_EDENIED);
    EQ(CONNECT(n, "cdn.example.com", 443, 1), CLOCHE__NET_EDENIED);
    EQ(CONNECT(n, "api.example.com.evil.com", 443, 1), CLOCHE__NET_EDENIED);
    EQ(CONNECT(n, "\xd0\xb0pi.example.com", 443, 1), CLOCHE__NET_EDENIED);
    EQ(CONNECT(n, "api.example.com ", 443, 1), CLOCHE__NET_EDENIED);
    EQ(CONNECT(n, "", 443, 1), CLOCHE__NET_EDENIED);
    EQ(CONNECT(n, NULL, 443, 1), CLOCHE__NET_EDENIED);
    EQ(CONNECT(n, "93.184.216.34", 443, 1), CLOCHE__NET_EDENIED);
    EQ(CONNECT(n, "203.0.113.7", 81, 0), CLOCHE__NET_EDENIED);
    EQ(CONNECT(n, "3405803783", 80, 0), CLOCHE__NET_EDENIED);
    EQ(CONNECT(n, "api.example.com", 0, 1), CLOCHE__NET_EINVAL);
    EQ(d.calls, 0); /* nothing denied was ever looked up */
    EQ(n->used_connections, 0);
    cloche__net_free(n);
    EQ(CONNECT(NULL, "api.example.com", 443, 1), CLOCHE__NET_EINVAL);
    EQ(cloche__net_alloc_live(), 0);
}

static void test_connect_private_after_resolve(void **state)
{
    (void)state;
    static const char *bad[] = {
        "127.0.0.1", "10.0.0.5", "169.254.169.254", "::1",
        "::ffff:127.0.0.1", "::ffff:169.254.169.254", "64:ff9b::7f00:1",
        "2002:7f00:1::", "::127.0.0.1", "fd00:ec2::254", "0.0.0.0", "::",
    };
    char err[256];
    const cloche__net_rule allow[] = {{"api.example.com", 0}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fake_dns d = {.addrs = {bad[i]}, .n = 1};
        cloche__net *n = net_with(allow, 1, &d);
        EQ(CONNECT(n, "api.example.com", 443, 0), CLOCHE__NET_EPRIVATE);
        EQ(d.calls, 1);
        assert_non_null(strstr(err, "blocked"));
        /* one good and one bad address: refused, nothing connected */
        fake_dns d2 = {.addrs = {"93.184.216.34", bad[i]}, .n = 2};
        n->resolve_ud = &d2;
        EQ(CONNECT(n, "api.example.com", 443, 0), CLOCHE__NET_EPRIVATE);
        fake_dns d3 = {.addrs = {bad[i], "93.184.216.34"}, .n = 2};
        n->resolve_ud = &d3;
        EQ(CONNECT(n, "api.example.com", 443, 0), CLOCHE__NET_EPRIVATE);
        EQ(n->used_connections, 3); /* every attempt is charged */
        cloche__net_free(n);
    }
    /* an allow-listed IP literal is checked like a resolved one */
    const cloche__net_rule lit[] = {{"127.0.0.1", 0}, {"::ffff:10.0.0.1", 0}};
    fake_dns d = {0};
    cloche__net *n = net_with(lit, 2, &d);
    EQ(CONNECT(n, "127.0.0.1", 80, 0), CLOCHE__NET_EPRIVATE);
    EQ(CONNECT(n, "::ffff:10.0.0.1", 80, 0), CLOCHE__NET_EPRIVATE);
    EQ(d.calls, 0); /* literals are never looked up */
    cloche__net_free(n);
    EQ(cloche__net_alloc_live(), 0);
}

static void test_connect_resolver_failures(void **state)
{
    (void)state;
    char err[256];
    const cloche__net_rule allow[] = {{"api.example.com", 0}};
    fake_dns fail = {.fail = 1};
    fake_dns none = {.n = 0};
    fake_dns fam = {.addrs = {"93.184.216.34"}, .n = 1, .bad_family = 1};
    fake_dns many = {.addrs = {"93.184.216.34"}, .n = 1,
                     .claim = CLOCHE__NET_MAX_ADDRS + 1};
    fake_dns *cases[] = {&fail, &none, &fam, &many};
    for (size_t i = 0; i < 4; i++) {
        cloche__net *n = net_with(allow, 1, cases[i]);
        EQ(CONNECT(n, "api.example.com", 443, 0), CLOCHE__NET_ERESOLVE);
        EQ(cases[i]->calls, 1);
        cloche__net_free(n);
    }
    EQ(cloche__net_alloc_live(), 0);
}

static void test_connect_caps_and_deadline(void **state)
{
    (void)state;
    char err[256];
    const cloche__net_rule allow[] = {{"api.example.com", 0}};
    fake_dns d = {.addrs = {"127.0.0.1"}, .n = 1};
    cloche__net_policy p = {.allow = allow, .nallow = 1,
                            .resolve = fake_resolve, .resolve_ud = &d,
                            .max_connections = 2};
    cloche__net *n = NULL;
    EQ(cloche__net_new(&n, &p), 0);
    /* a deadline already passed: refused before anything, not charged */
    EQ(cloche__net_connect(n, "api.example.com", 443, 0, 0, err, sizeof err),
       CLOCHE__NET_ETIMEDOUT);
    EQ(d.calls, 0);
    EQ(CONNECT(n, "api.example.com", 443, 0), CLOCHE__NET_EPRIVATE);
    EQ(CONNECT(n, "api.example.com", 443, 0), CLOCHE__NET_EPRIVATE);
    EQ(CONNECT(n, "api.example.com", 443, 0), CLOCHE__NET_ELIMIT);
    EQ(d.calls, 2);
    assert_non_null(strstr(cloche__net_errmsg(n), "limit"));
    cloche__net_reset_counters(n);
    EQ(CONNECT(n, "api.example.com", 443, 0), CLOCHE__NET_EPRIVATE);
    cloche__net_free(n);
    EQ(cloche__net_alloc_live(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_parse_table),
        cmocka_unit_test(test_host_lengths),
        cmocka_unit_test(test_rule_match_table),
        cmocka_unit_test(test_rule_compile_invalid),
        cmocka_unit_test(test_blocked_ranges),
        cmocka_unit_test(test_policy_check_table),
        cmocka_unit_test(test_policy_copied_and_defaults),
        cmocka_unit_test(test_new_out_of_memory),
        cmocka_unit_test(test_error_names),
        cmocka_unit_test(test_connect_denied),
        cmocka_unit_test(test_connect_private_after_resolve),
        cmocka_unit_test(test_connect_resolver_failures),
        cmocka_unit_test(test_connect_caps_and_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
