/*
 * test_net_secrets.c - the substitution engine without sockets:
 * placeholders, whole-buffer scrubbing, streams fed in arbitrary pieces
 * (which must agree with the whole-buffer answer), the send direction, and
 * the bound on what a receive stream that releases short tails can leak.
 */
#define _DEFAULT_SOURCE

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net/net_int.h"

#define EQ assert_int_equal

/* Values: V2 extends V1, V3 overlaps V1's tail, V4 overlaps itself. */
#define V1 "SK-LIVE-ABCDEFGH"
#define V2 "SK-LIVE-ABCDEFGH-XYZ"
#define V3 "LIVE-ABCDxyz12345"
#define V4 "QQQQQQQQR"
#define P1 "<P1:CLOCHE_SECRET_ONE_0011>"
#define P2 "<P2:CLOCHE_SECRET_TWO_00112233445566>"
#define P3 "{p3-short-ph-000}"
#define P4 "<P4:CLOCHE_SECRET_FOUR_aabbccddeeff00112233445566778899>"

static const cloche__net_rule HOSTS[] = {{"api.example.com", 0}};

static cloche__net *make_net(void)
{
    static const cloche__net_secret sec[] = {
        {"ONE", V1, P1, HOSTS, 1},
        {"TWO", V2, P2, HOSTS, 1},
        {"THREE", V3, P3, HOSTS, 1},
        {"FOUR", V4, P4, HOSTS, 1},
    };
    cloche__net_policy p = {.allow = HOSTS, .nallow = 1, .secrets = sec,
                            .nsecrets = 4};
    cloche__net *n = NULL;
    char err[200] = "";
    if (cloche__net_policy_check(&p, err, sizeof err))
        fail_msg("policy: %s", err);
    assert_int_equal(cloche__net_new(&n, &p), 0);
    return n;
}

static int teardown(void **state)
{
    (void)state;
    cloche__net_alloc_fail_after(-1);
    assert_int_equal(cloche__net_alloc_live(), 0);
    return 0;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return n ? (uint32_t)(rng_state % n) : 0;
}

static int contains(const uint8_t *h, size_t hl, const char *needle, size_t nl)
{
    for (size_t i = 0; i + nl <= hl; i++)
        if (memcmp(h + i, needle, nl) == 0)
            return 1;
    return 0;
}

/* ---- placeholders -------------------------------------------------------------- */

static void test_make_placeholder(void **state)
{
    (void)state;
    char a[128], b[128];
    EQ(cloche__net_make_placeholder(a, sizeof a, "API_KEY"), 0);
    EQ(cloche__net_make_placeholder(b, sizeof b, "API_KEY"), 0);
    EQ(strlen(a), strlen("CLOCHE_SECRET_API_KEY_") + 32);
    assert_memory_equal(a, "CLOCHE_SECRET_API_KEY_", 22);
    EQ(strspn(a + 22, "0123456789abcdef"), 32);
    assert_string_not_equal(a, b);
    /* exact capacity works, one byte less does not */
    size_t need = strlen("CLOCHE_SECRET_K_") + 32 + 1;
    EQ(cloche__net_make_placeholder(a, need, "K"), 0);
    EQ(cloche__net_make_placeholder(a, need - 1, "K"), CLOCHE__NET_EINVAL);
    static const char *bad[] = {"", "A-B", "A B", "caf\xc3\xa9", "A.B",
                                "A\nB"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        EQ(cloche__net_make_placeholder(a, sizeof a, bad[i]),
           CLOCHE__NET_EINVAL);
    char name[CLOCHE__NET_MAX_NAME + 2];
    memset(name, 'N', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    char big[256];
    EQ(cloche__net_make_placeholder(big, sizeof big, name), CLOCHE__NET_EINVAL);
    name[CLOCHE__NET_MAX_NAME] = '\0';
    EQ(cloche__net_make_placeholder(big, sizeof big, name), 0);
    EQ(cloche__net_make_placeholder(NULL, 10, "K"), CLOCHE__NET_EINVAL);
    EQ(cloche__net_make_placeholder(a, sizeof a, NULL), CLOCHE__NET_EINVAL);
}

/* ---- whole-buffer scrub ---------------------------------------------------------- */

typedef struct scrub_case {
    const char *in, *out;
} scrub_case;

static void test_scrub_table(void **state)
{
    (void)state;
    static const scrub_case cases[] = {
        {"", ""},
        {"nothing here", "nothing here"},
        {V1, P1},
        {"a" V1 "b" V1 "c", "a" P1 "b" P1 "c"},
        {V1 V1, P1 P1},
        {V2, P2},                           /* longest at one position */
        {V2 "!" V1, P2 "!" P1},
        {"SK-LIVE-ABCDEFGH-XY", P1 "-XY"},  /* V2 incomplete: V1 matches */
        {"SK-LIVE-ABCDxyz12345", "SK-" P3}, /* leftmost: V3 at offset 3 */
        {"SK-" V3, "SK-" P3},
        {V1 "xyz12345", P1 "xyz12345"},     /* leftmost wins over V3 */
        {"QQQQQQQQQQR", "QQ" P4},           /* self-overlapping value */
        {"QQQQQQQQRQQQQQQQQR", P4 P4},
        /* a value cut off by the end of the buffer is masked ... */
        {"end: SK-LIVE-AB", "end: " P1},
        {"end: SK-L", "end: " P1},
        /* ... unless fewer than RELEASE_MAX bytes of it are there */
        {"end: SK-", "end: SK-"},
        {"the placeholder " P1 " stays", "the placeholder " P1 " stays"},
    };
    cloche__net *n = make_net();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *out = NULL;
        size_t len = 0;
        EQ(cloche__net_scrub(n, (const uint8_t *)cases[i].in,
                             strlen(cases[i].in), &out, &len),
           0);
        assert_non_null(out);
        if (len != strlen(cases[i].out) || memcmp(out, cases[i].out, len))
            fail_msg("scrub case %zu: got \"%.*s\" want \"%s\"", i, (int)len,
                     (const char *)out, cases[i].out);
        free(out);
    }
    uint8_t *out;
    size_t len;
    EQ(cloche__net_scrub(NULL, (const uint8_t *)V1, 16, &out, &len), 0);
    assert_memory_equal(out, V1, 16); /* no context: no secrets */
    free(out);
    EQ(cloche__net_scrub(n, NULL, 5, &out, &len), CLOCHE__NET_EINVAL);
    EQ(cloche__net_scrub(n, (const uint8_t *)"x", 1, NULL, &len),
       CLOCHE__NET_EINVAL);
    EQ(cloche__net_scrub(n, NULL, 0, &out, &len), 0);
    EQ(len, 0);
    free(out);
    cloche__net_free(n);
}

/* ---- streams in pieces agree with the whole buffer ------------------------------- */

static const char *const PIECES[] = {V1, V2, V3, V4, P1, "SK-LIVE-", "LIVE-",
                                     "QQQQ", "SK-", "Q", "<P1:CLOCHE"};

static size_t random_input(uint8_t *buf, size_t cap)
{
    size_t len = 0;
    size_t parts = 1 + rnd(12);
    for (size_t p = 0; p < parts; p++) {
        const char *s = PIECES[rnd(sizeof PIECES / sizeof PIECES[0])];
        size_t sl = strlen(s);
        if (rnd(3) == 0)
            sl = rnd((uint32_t)sl + 1); /* a prefix */
        size_t fill = rnd(6);
        if (len + sl + fill > cap)
            break;
        for (size_t i = 0; i < fill; i++)
            buf[len++] = (uint8_t)"abcSQ -"[rnd(7)];
        memcpy(buf + len, s, sl);
        len += sl;
    }
    return len;
}

static void feed_all(const cloche__net_patset *ps, const uint8_t *in,
                     size_t len, cloche__net_buf *out, int end_flags)
{
    cloche__net_stream st = {0};
    size_t off = 0;
    while (off < len) {
        size_t k = 1 + rnd(rnd(2) ? 4 : 40);
        if (k > len - off)
            k = len - off;
        EQ(cloche__net_stream_feed(ps, &st, in + off, k, 0, out), 0);
        off += k;
    }
    EQ(cloche__net_stream_feed(ps, &st, NULL, 0, end_flags, out), 0);
    EQ(cloche__net_stream_pending(&st), 0);
    cloche__net_stream_free(&st);
}

static void test_stream_pieces_match_whole(void **state)
{
    (void)state;
    cloche__net *n = make_net();
    uint8_t in[400];
    for (int iter = 0; iter < 3000; iter++) {
        size_t len = random_input(in, sizeof in);
        uint8_t *want;
        size_t want_len;
        EQ(cloche__net_scrub(n, in, len, &want, &want_len), 0);
        cloche__net_buf got = {.max = 1u << 20};
        feed_all(&n->scrub_ps, in, len, &got,
                 CLOCHE__NET_FEED_FINAL | CLOCHE__NET_FEED_MASK);
        if (got.len != want_len || memcmp(got.p, want, want_len) != 0)
            fail_msg("iteration %d: \"%.*s\" -> \"%.*s\", whole gives "
                     "\"%.*s\"",
                     iter, (int)len, (const char *)in, (int)got.len,
                     (const char *)got.p, (int)want_len, (const char *)want);
        free(want);
        cloche__net_buf_free(&got);
    }
    cloche__net_free(n);
}

/* The scrubber API (live output) is the same stream. */
static void test_scrubber(void **state)
{
    (void)state;
    cloche__net *n = make_net();
    const char *text = "log: key=" V1 " other=" V2 " tail SK-LIVE-ABC";
    size_t tl = strlen(text);
    for (size_t split = 0; split <= tl; split++) {
        cloche__net_scrubber *s;
        EQ(cloche__net_scrubber_new(&s, n), 0);
        cloche__net_buf all = {.max = 1u << 16};
        const uint8_t *o;
        size_t ol;
        EQ(cloche__net_scrubber_feed(s, (const uint8_t *)text, split, &o, &ol),
           0);
        EQ(cloche__net_buf_append(&all, o, ol), 0);
        EQ(cloche__net_scrubber_feed(s, (const uint8_t *)text + split,
                                     tl - split, &o, &ol),
           0);
        EQ(cloche__net_buf_append(&all, o, ol), 0);
        EQ(cloche__net_scrubber_finish(s, &o, &ol), 0);
        EQ(cloche__net_buf_append(&all, o, ol), 0);
        const char *want = "log: key=" P1 " other=" P2 " tail " P1;
        EQ(all.len, strlen(want));
        assert_memory_equal(all.p, want, all.len);
        cloche__net_buf_free(&all);
        cloche__net_scrubber_free(s);
    }
    cloche__net_scrubber *s;
    EQ(cloche__net_scrubber_new(&s, NULL), CLOCHE__NET_EINVAL);
    cloche__net_alloc_fail_after(0);
    EQ(cloche__net_scrubber_new(&s, n), CLOCHE__NET_ENOMEM);
    cloche__net_alloc_fail_after(-1);
    EQ(cloche__net_scrubber_new(&s, n), 0);
    const uint8_t *o;
    size_t ol;
    cloche__net_alloc_fail_after(0);
    EQ(cloche__net_scrubber_feed(s, (const uint8_t *)text, tl, &o, &ol),
       CLOCHE__NET_ENOMEM);
    cloche__net_alloc_fail_after(-1);
    cloche__net_scrubber_free(s);
    cloche__net_scrubber_free(NULL);
    cloche__net_free(n);
}

/* ---- the send direction: placeholder -> value, bound secrets only --------------- */

static void test_send_stream(void **state)
{
    (void)state;
    cloche__net *n = make_net();
    cloche__net_patset ps;
    cloche__net_patset_init(&ps, n->sub_pats, n->nsecrets, 1u); /* ONE only */
    const char *msg = "Authorization: Bearer " P1 "\r\nX: " P2 "\r\n";
    const char *want = "Authorization: Bearer " V1 "\r\nX: " P2 "\r\n";
    size_t ml = strlen(msg);
    for (size_t split = 0; split <= ml; split++) {
        cloche__net_stream st = {0};
        cloche__net_buf out = {.max = 1u << 16};
        EQ(cloche__net_stream_feed(&ps, &st, (const uint8_t *)msg, split, 0,
                                   &out),
           0);
        EQ(cloche__net_stream_feed(&ps, &st, (const uint8_t *)msg + split,
                                   ml - split, 0, &out),
           0);
        EQ(cloche__net_stream_held(&st), 0);
        EQ(out.len, strlen(want));
        assert_memory_equal(out.p, want, out.len);
        cloche__net_buf_free(&out);
        cloche__net_stream_free(&st);
    }
    /* one byte at a time */
    cloche__net_stream st = {0};
    cloche__net_buf out = {.max = 1u << 16};
    for (size_t i = 0; i < ml; i++)
        EQ(cloche__net_stream_feed(&ps, &st, (const uint8_t *)msg + i, 1, 0,
                                   &out),
           0);
    EQ(out.len, strlen(want));
    assert_memory_equal(out.p, want, out.len);
    /* an unfinished placeholder is released unchanged, never completed */
    cloche__net_buf_consume(&out, out.len);
    EQ(cloche__net_stream_feed(&ps, &st, (const uint8_t *)"x <P1:CLOCHE_SEC",
                               16, 0, &out),
       0);
    EQ(out.len, 2);
    EQ(cloche__net_stream_held(&st), 14);
    EQ(cloche__net_stream_feed(&ps, &st, NULL, 0, CLOCHE__NET_FEED_FINAL, &out),
       0);
    EQ(out.len, 16);
    assert_memory_equal(out.p, "x <P1:CLOCHE_SEC", 16);
    cloche__net_buf_free(&out);
    cloche__net_stream_free(&st);
    /* no secret bound: everything passes through, nothing held */
    cloche__net_patset none;
    cloche__net_patset_init(&none, n->sub_pats, n->nsecrets, 0);
    cloche__net_stream st2 = {0};
    cloche__net_buf out2 = {.max = 1u << 16};
    EQ(cloche__net_stream_feed(&none, &st2, (const uint8_t *)"<P1:CLOC", 8, 0,
                               &out2),
       0);
    EQ(out2.len, 8);
    EQ(cloche__net_chunk(&none), 65536);
    assert_true(cloche__net_chunk(&ps) >= 256);
    cloche__net_buf_free(&out2);
    cloche__net_stream_free(&st2);
    cloche__net_free(n);
}

/* ---- release of short tails: what can leak is bounded ---------------------------- */

static void test_release_carry(void **state)
{
    (void)state;
    cloche__net *n = make_net();
    const cloche__net_patset *ps = &n->scrub_ps;
    cloche__net_stream st = {0};
    cloche__net_buf out = {.max = 1u << 16};
    /* "SK-" (3 bytes) is held; the peer goes quiet: released as it is */
    EQ(cloche__net_stream_feed(ps, &st, (const uint8_t *)"hdr: SK-", 8, 0,
                               &out),
       0);
    EQ(out.len, 5);
    EQ(cloche__net_stream_held(&st), 3);
    EQ(cloche__net_stream_feed(ps, &st, NULL, 0,
                               CLOCHE__NET_FEED_FINAL | CLOCHE__NET_FEED_CARRY,
                               &out),
       0);
    EQ(out.len, 8);
    EQ(cloche__net_stream_held(&st), 0);
    EQ(cloche__net_stream_pending(&st), 3); /* still watched */
    /* the rest of the value arrives: its remaining bytes are replaced */
    const char *rest = "LIVE-ABCDEFGH\r\n";
    EQ(cloche__net_stream_feed(ps, &st, (const uint8_t *)rest, strlen(rest), 0,
                               &out),
       0);
    const char *want = "hdr: SK-" P1 "\r\n";
    EQ(out.len, strlen(want));
    assert_memory_equal(out.p, want, out.len);
    EQ(cloche__net_stream_pending(&st), 0);
    cloche__net_buf_free(&out);
    cloche__net_stream_free(&st);
    cloche__net_free(n);
}

/*
 * Random streams of filler (lowercase) and values (which start uppercase),
 * random pieces, random "quiet" releases whenever the stream allows one
 * (pending < RELEASE_MAX), EOF with MASK: the output must never contain a
 * value, nor the first RELEASE_MAX bytes of one.
 */
static void test_release_leak_bound(void **state)
{
    (void)state;
    cloche__net *n = make_net();
    const cloche__net_patset *ps = &n->scrub_ps;
    static const char *vals[] = {V1, V2, V4};
    uint8_t in[600];
    for (int iter = 0; iter < 3000; iter++) {
        size_t len = 0;
        for (size_t p = 0, np = 1 + rnd(8); p < np; p++) {
            size_t fill = rnd(5);
            for (size_t i = 0; i < fill; i++)
                in[len++] = (uint8_t)"abcz -"[rnd(6)];
            const char *v = vals[rnd(3)];
            size_t vl = strlen(v);
            if (p + 1 == np && rnd(2))
                vl = 1 + rnd((uint32_t)vl); /* cut off by EOF */
            memcpy(in + len, v, vl);
            len += vl;
        }
        cloche__net_stream st = {0};
        cloche__net_buf out = {.max = 1u << 16};
        size_t off = 0;
        while (off < len) {
            size_t k = 1 + rnd(6);
            if (k > len - off)
                k = len - off;
            EQ(cloche__net_stream_feed(ps, &st, in + off, k, 0, &out), 0);
            off += k;
            if (cloche__net_stream_held(&st) &&
                cloche__net_stream_pending(&st) < CLOCHE__NET_RELEASE_MAX &&
                rnd(2))
                EQ(cloche__net_stream_feed(ps, &st, NULL, 0,
                                           CLOCHE__NET_FEED_FINAL |
                                               CLOCHE__NET_FEED_CARRY,
                                           &out),
                   0);
        }
        EQ(cloche__net_stream_feed(
               ps, &st, NULL, 0, CLOCHE__NET_FEED_FINAL | CLOCHE__NET_FEED_MASK,
               &out),
           0);
        for (size_t v = 0; v < 3; v++) {
            if (contains(out.p, out.len, vals[v], CLOCHE__NET_RELEASE_MAX))
                fail_msg("iteration %d leaked a prefix of %s: \"%.*s\"", iter,
                         vals[v], (int)out.len, (const char *)out.p);
        }
        cloche__net_buf_free(&out);
        cloche__net_stream_free(&st);
    }
    cloche__net_free(n);
}

static void test_stream_out_of_memory(void **state)
{
    (void)state;
    cloche__net *n = make_net();
    cloche__net_stream st = {0};
    cloche__net_buf out = {.max = 1u << 16};
    cloche__net_alloc_fail_after(0);
    EQ(cloche__net_stream_feed(&n->scrub_ps, &st, (const uint8_t *)"abc", 3, 0,
                               &out),
       CLOCHE__NET_ENOMEM);
    cloche__net_alloc_fail_after(1);
    EQ(cloche__net_stream_feed(&n->scrub_ps, &st, (const uint8_t *)"abc", 3, 0,
                               &out),
       CLOCHE__NET_ENOMEM);
    cloche__net_alloc_fail_after(-1);
    cloche__net_buf small = {.max = 4};
    EQ(cloche__net_buf_append(&small, (const uint8_t *)"12345", 5),
       CLOCHE__NET_ENOMEM);
    EQ(cloche__net_buf_append(&small, (const uint8_t *)"1234", 4), 0);
    EQ(cloche__net_buf_append(&small, (const uint8_t *)"5", 1),
       CLOCHE__NET_ENOMEM);
    cloche__net_buf_free(&small);
    cloche__net_buf_free(&out);
    cloche__net_stream_free(&st);
    cloche__net_free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_make_placeholder, teardown),
        cmocka_unit_test_teardown(test_scrub_table, teardown),
        cmocka_unit_test_teardown(test_stream_pieces_match_whole, teardown),
        cmocka_unit_test_teardown(test_scrubber, teardown),
        cmocka_unit_test_teardown(test_send_stream, teardown),
        cmocka_unit_test_teardown(test_release_carry, teardown),
        cmocka_unit_test_teardown(test_release_leak_bound, teardown),
        cmocka_unit_test_teardown(test_stream_out_of_memory, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
