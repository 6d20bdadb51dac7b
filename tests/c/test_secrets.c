/*
 * Integration: secrets. The guest only sees a placeholder; the host puts
 * the value into TLS traffic to the hosts it is bound to, never elsewhere
 * (not over plain TCP, not to other hosts); a server echoing it back does
 * not leak it into the box; and nothing the embedder gets out (output,
 * value, exception, live output, files, snapshots) carries it.
 */
#include "net_sandbox.h"

#define VALUE "sk-live-0123456789abcdef"

static const cloche_net_rule bound[] = {{"localhost", 0}};

static cloche_secret api_key(const char *placeholder) {
    cloche_secret s = {"API_KEY", VALUE, bound, 1, placeholder};
    return s;
}

static void assert_no_value(const char *text) {
    if (text)
        assert_null(strstr(text, VALUE));
}

static void test_placeholder_in_env(void **state) {
    (void)state;
    cloche_secret s = api_key(NULL);
    cloche_network_options n = {.allow_private = 1, .secrets = &s,
                                .secret_count = 1};
    cloche_sandbox *sb = net_sandbox(&n);
    test_expect_stdout(sb,
                       "import os, re\n"
                       "v = os.environ['API_KEY']\n"
                       "print(bool(re.fullmatch('CLOCHE_[0-9a-f]{17}', v)))",
                       "True\n"); /* as long as the value */
    /* A long enough value gets the name in its placeholder. */
    cloche_secret named = {"API_KEY", VALUE VALUE, bound, 1, NULL};
    n.secrets = &named;
    cloche_sandbox *sb3 = net_sandbox(&n);
    test_expect_stdout(sb3,
                       "import os, re\n"
                       "v = os.environ['API_KEY']\n"
                       "print(bool(re.fullmatch('CLOCHE_API_KEY_[0-9a-f]{33}', v)))",
                       "True\n");
    cloche_sandbox_free(sb3);
    /* Fixed placeholders, for sessions restored elsewhere. */
    cloche_secret fixed = api_key("PLACEHOLDER_FOR_API_KEY");
    n.secrets = &fixed;
    cloche_sandbox *sb2 = net_sandbox(&n);
    test_expect_stdout(sb2, "import os\nprint(os.environ['API_KEY'])",
                       "PLACEHOLDER_FOR_API_KEY\n");
    cloche_sandbox_free(sb2);
    cloche_sandbox_free(sb);
}

/* Echoes the request: /chunk in 5-byte chunks, else with a length. */
static int echo_request(void *ud, const uint8_t *req, size_t len,
                        srv_buf *r) {
    (void)ud;
    if (strncmp((const char *)req, "GET /chunk ", 11) == 0) {
        srv_buf_printf(r, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                          "\r\n");
        for (size_t off = 0; off < len; off += 5) {
            size_t k = len - off < 5 ? len - off : 5;
            srv_buf_printf(r, "%zx\r\n", k);
            srv_buf_add(r, req + off, k);
            srv_buf_add(r, "\r\n", 2);
        }
        srv_buf_printf(r, "0\r\n\r\n");
        return 0;
    }
    srv_buf_printf(r, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", len);
    srv_buf_add(r, req, len);
    return 0;
}

static void test_substituted_over_tls_and_echo_scrubbed(void **state) {
    (void)state;
    srv *s = start_http_server(NM.s_good, echo_request);
    cloche_secret sec = api_key("PLACEHOLDER_FOR_API_KEY");
    cloche_network_options n = {.allow_private = 1, .secrets = &sec,
                                .secret_count = 1};
    cloche_sandbox *sb = net_sandbox(&n);
    char *out = test_stdout(
        sb,
        py("import os, http.client, ssl\n"
           "c = http.client.HTTPSConnection('localhost', %u,\n"
           "    context=ssl.create_default_context())\n"
           "key = os.environ['API_KEY']\n"
           "for path in ('/cl', '/chunk', '/cl'):\n"
           "    c.request('GET', path, headers={'Authorization': 'Bearer ' + key})\n"
           "    body = c.getresponse().read().decode()\n"
           "    print(path, [l for l in body.split('\\r\\n')\n"
           "                 if l.startswith('Authorization')][0])\n",
           srv_port(s)));
    /* The server got the value, three times on one connection; the guest
     * got the placeholder back, chunked or not (a placeholder of another
     * length than the value: the host re-framed the answers). */
    const char *w = received(s, 0, 20);
    assert_non_null(strstr(w, "Bearer " VALUE "\r\n"));
    assert_int_equal(srv_accepted(s), 1);
    assert_string_equal(out,
                        "/cl Authorization: Bearer PLACEHOLDER_FOR_API_KEY\n"
                        "/chunk Authorization: Bearer PLACEHOLDER_FOR_API_KEY\n"
                        "/cl Authorization: Bearer PLACEHOLDER_FOR_API_KEY\n");
    free(out);
    cloche_sandbox_free(sb);
    srv_stop(s);
}

static void test_not_substituted_in_clear_or_elsewhere(void **state) {
    (void)state;
    srv *plain = start_server(SRV_ECHO, NULL, NULL, 0);
    srv *other = start_server(SRV_ECHO, NM.s_good, NULL, 0);
    static const cloche_net_rule only_port[] = {{"localhost", 1}};
    cloche_secret sec = {"API_KEY", VALUE, only_port, 1, NULL};
    cloche_network_options n = {.allow_private = 1, .secrets = &sec,
                                .secret_count = 1};
    cloche_sandbox *sb = net_sandbox(&n);
    test_expect_stdout(
        sb,
        py("import os, socket, ssl\n"
           "key = os.environ['API_KEY'].encode()\n"
           "c = socket.create_connection(('localhost', %u))\n"
           "c.sendall(key)\n"
           "print(c.recv(100) == key)\n"
           "t = ssl.create_default_context().wrap_socket(\n"
           "    socket.create_connection(('localhost', %u)),\n"
           "    server_hostname='localhost')\n"
           "t.sendall(key)\n"
           "print(t.recv(100) == key)\n",
           srv_port(plain), srv_port(other)),
        "True\nTrue\n");
    assert_null(strstr(received(plain, 0, 20), VALUE));
    assert_null(strstr(received(other, 0, 20), VALUE));
    cloche_sandbox_free(sb);
    srv_stop(other);
    srv_stop(plain);
}

/* A tool that hands the guest the real value (an embedder mistake). */
static void leak(cloche_call *call, const char *args, size_t len, void *ud) {
    (void)args, (void)len, (void)ud;
    cloche_call_return(call, "\"" VALUE "\"", strlen(VALUE) + 2);
}

typedef struct live {
    char text[4096];
    size_t len;
} live;

static void collect(void *ud, int fd, const char *data, size_t len) {
    live *l = ud;
    (void)fd;
    if (l->len + len < sizeof l->text) {
        memcpy(l->text + l->len, data, len);
        l->len += len;
        l->text[l->len] = '\0';
    }
}

static void test_everything_out_is_scrubbed(void **state) {
    (void)state;
    cloche_secret sec = api_key("PLACEHOLDER_FOR_API_KEY");
    cloche_network_options n = {.allow_private = 1, .secrets = &sec,
                                .secret_count = 1};
    live l = {{0}, 0};
    n.extra_ca_file = NM.ca_file;
    cloche_sandbox_options o = CLOCHE_SANDBOX_OPTIONS_INIT;
    o.network = &n;
    o.on_output = collect;
    o.output_userdata = &l;
    cloche_sandbox *sb = test_sandbox(&o);
    cloche_callback_def d = CLOCHE_CALLBACK_DEF_INIT;
    d.name = "leak";
    d.fn = leak;
    assert_int_equal(cloche_sandbox_add_callback(sb, &d), 0);
    cloche_result *r = test_run(
        sb, "import sys\n"
            "v = leak()\n"
            "for ch in v: sys.stdout.write(ch)  # split across writes\n"
            "print()\n"
            "print(v, file=sys.stderr)\n"
            "open('/data/out.txt', 'w').write(v)\n"
            "raise ValueError(v)\n");
    assert_int_equal(cloche_result_outcome(r), CLOCHE_OUTCOME_EXCEPTION);
    size_t len;
    assert_string_equal(cloche_result_stdout(r, &len),
                        "PLACEHOLDER_FOR_API_KEY\n");
    assert_no_value(cloche_result_stderr(r, &len));
    assert_no_value(cloche_result_exception_message(r));
    assert_no_value(cloche_result_traceback(r));
    assert_no_value(l.text);
    assert_non_null(strstr(l.text, "PLACEHOLDER_FOR_API_KEY\n"));
    cloche_result_free(r);
    r = test_run(sb, "v");
    assert_string_equal(cloche_result_value_repr(r),
                        "'PLACEHOLDER_FOR_API_KEY'");
    cloche_result_free(r);
    /* The value's JSON is decoded by its reader: a value hidden in its
     * escapes is scrubbed too (found by fuzz_record). */
    r = test_run(sb, "import json\n"
                     "_dumps = json.dumps\n"
                     "def dumps(o, **k):\n"
                     "    if isinstance(o, dict):\n"
                     "        return '{' + ','.join(\n"
                     "            '\"' + ''.join('\\\\u%04x' % ord(c) for c in x)\n"
                     "            + '\":1' for x in o) + '}'\n"
                     "    return _dumps(o, **k)\n"
                     "json.dumps = dumps\n"
                     "{v: 1}");
    assert_no_value(cloche_result_value_json(r));
    char *j = cloche_result_to_json(r);
    assert_no_value(j);
    assert_non_null(strstr(j, "PLACEHOLDER_FOR_API_KEY"));
    cloche_string_free(j);
    cloche_result_free(r);
    test_expect_stdout(sb, "import json\njson.dumps = _dumps\nprint(1)",
                       "1\n");
    void *file = NULL;
    assert_int_equal(cloche_sandbox_read_file(&file, &len, sb, "/data/out.txt"),
                     0);
    assert_int_equal(len, strlen("PLACEHOLDER_FOR_API_KEY"));
    assert_memory_equal(file, "PLACEHOLDER_FOR_API_KEY", len);
    cloche_buffer_free(file);
    /* Snapshots would carry the value: refused, sandbox unharmed. */
    uint8_t *snap = NULL;
    size_t snap_len = 0;
    assert_int_equal(cloche_snapshot_save(&snap, &snap_len, sb, NULL),
                     CLOCHE_ESECRET);
    assert_null(snap);
    assert_int_equal(cloche_state_save(&snap, &snap_len, sb, 0),
                     CLOCHE_ESECRET);
    /* With the value only in guest memory (pages are stored as deltas
     * against the image, which must not hide it from the check). */
    test_expect_stdout(sb, "import os\nos.remove('/data/out.txt')\n"
                           "print('ok')", "ok\n");
    assert_int_equal(cloche_snapshot_save(&snap, &snap_len, sb, NULL),
                     CLOCHE_ESECRET);
    assert_null(snap);
    test_expect_stdout(sb, "del v\nprint('ok')", "ok\n");
    cloche_sandbox_free(sb);
}

/* A PNG cannot be scrubbed in place: an image holding the value is
 * dropped (counted, a marker on stderr), the others are kept. */
static void test_image_holding_value_is_dropped(void **state) {
    (void)state;
    cloche_secret sec = api_key("PLACEHOLDER_FOR_API_KEY");
    cloche_network_options n = {.allow_private = 1, .secrets = &sec,
                                .secret_count = 1};
    n.extra_ca_file = NM.ca_file;
    cloche_sandbox_options o = CLOCHE_SANDBOX_OPTIONS_INIT;
    o.network = &n;
    cloche_sandbox *sb = test_sandbox(&o);
    cloche_callback_def d = CLOCHE_CALLBACK_DEF_INIT;
    d.name = "leak";
    d.fn = leak;
    assert_int_equal(cloche_sandbox_add_callback(sb, &d), 0);
    cloche_result *r = test_run_ok(
        sb, "import cloche, struct, zlib\n"
            "def chunk(k, d):\n"
            "    return (struct.pack('>I', len(d)) + k + d +\n"
            "            struct.pack('>I', zlib.crc32(k + d)))\n"
            "def png(text):\n"
            "    return (b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR',\n"
            "            struct.pack('>IIBBBBB', 1, 1, 8, 2, 0, 0, 0)) +\n"
            "            chunk(b'tEXt', b'k\\x00' + text.encode()) +\n"
            "            chunk(b'IDAT', zlib.compress(bytes(4))) +\n"
            "            chunk(b'IEND', b''))\n"
            "cloche.show_image(png('harmless'))\n"
            "cloche.show_image(png('key=' + leak()))\n");
    assert_int_equal(cloche_result_image_count(r), 1);
    assert_int_equal(cloche_result_images_dropped(r), 1);
    size_t len = 0;
    const uint8_t *img = cloche_result_image(r, 0, &len, NULL);
    int found = 0; /* the kept one is the harmless one */
    for (size_t i = 0; i + 8 <= len && !found; i++)
        found = memcmp(img + i, "harmless", 8) == 0;
    assert_true(found);
    assert_non_null(strstr(cloche_result_stderr(r, NULL),
                           "[cloche: 1 images left out: held a secret's "
                           "value]"));
    char *j = cloche_result_to_json(r);
    assert_no_value(j);
    cloche_string_free(j);
    cloche_result_free(r);
    cloche_sandbox_free(sb);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_placeholder_in_env),
        cmocka_unit_test(test_substituted_over_tls_and_echo_scrubbed),
        cmocka_unit_test(test_not_substituted_in_clear_or_elsewhere),
        cmocka_unit_test(test_everything_out_is_scrubbed),
        cmocka_unit_test(test_image_holding_value_is_dropped),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
