/*
 * Integration: host mounts seen from Python. Every escape attempt must fail
 * with the right error, and the host tree outside the mount must be
 * byte-for-byte what it was. (The WASI-level escape table lives in
 * test_wasi_mount.c; this proves the same rules hold end to end.)
 *
 * Host tree per test, under a mkdtemp TOP:
 *   TOP/secret            "TOP SECRET"       outside the mount
 *   TOP/m/f.txt           "hello host"       TOP/m mounted at /mnt/m
 *   TOP/m/link_secret  -> ../secret          TOP/m/link_abs -> /etc/passwd
 *   TOP/m/sub/g.txt       "in sub"
 *   TOP/single.txt        "single"           mounted at /etc/single.txt
 *   TOP/pkgs/hostpkg/__init__.py             a folder package
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static char top[256];

static void host_path(char *out, size_t cap, const char *rel) {
    assert_true((size_t)snprintf(out, cap, "%s/%s", top, rel) < cap);
}

static void host_write(const char *rel, const char *text) {
    char p[512];
    host_path(p, sizeof p, rel);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Contents of a host file, "" when missing (static buffer). */
static const char *host_read(const char *rel) {
    static char buf[256];
    char p[512];
    host_path(p, sizeof p, rel);
    buf[0] = 0;
    FILE *f = fopen(p, "r");
    if (f) {
        buf[fread(buf, 1, sizeof buf - 1, f)] = 0;
        fclose(f);
    }
    return buf;
}

static int host_exists(const char *rel) {
    char p[512];
    struct stat st;
    host_path(p, sizeof p, rel);
    return lstat(p, &st) == 0;
}

static void host_link(const char *target, const char *rel) {
    char p[512];
    host_path(p, sizeof p, rel);
    assert_int_equal(symlink(target, p), 0);
}

static void host_mkdir(const char *rel) {
    char p[512];
    host_path(p, sizeof p, rel);
    assert_int_equal(mkdir(p, 0755), 0);
}

static int setup_tree(void **state) {
    (void)state;
    snprintf(top, sizeof top, "/tmp/cloche-mounts-XXXXXX");
    assert_non_null(mkdtemp(top));
    host_write("secret", "TOP SECRET");
    host_mkdir("m");
    host_mkdir("m/sub");
    host_write("m/f.txt", "hello host");
    host_write("m/sub/g.txt", "in sub");
    host_link("../secret", "m/link_secret");
    host_link("/etc/passwd", "m/link_abs");
    host_write("single.txt", "single");
    host_mkdir("pkgs");
    host_mkdir("pkgs/hostpkg");
    host_write("pkgs/hostpkg/__init__.py", "def triple(x):\n    return 3 * x\n");
    return 0;
}

static int teardown_tree(void **state) {
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", top);
    assert_int_equal(system(cmd), 0);
    return 0;
}

/* A sandbox with TOP/m at /mnt/m (ro or rw) and TOP/single.txt (ro). */
static cloche_sandbox *mounted_sandbox(int readonly) {
    static char m[512], single[512];
    host_path(m, sizeof m, "m");
    host_path(single, sizeof single, "single.txt");
    cloche_mount mounts[] = {{m, "/mnt/m", readonly},
                             {single, "/etc/single.txt", 1}};
    cloche_sandbox_options o = CLOCHE_SANDBOX_OPTIONS_INIT;
    o.mounts = mounts;
    o.mount_count = 2;
    return test_sandbox(&o);
}

/* Prints one line per attempt: "name ERRNAME" or "name ok <detail>". */
static const char attempt_py[] =
    "import errno, os\n"
    "def attempt(name, fn):\n"
    "    try:\n"
    "        print(name, 'ok', fn())\n"
    "    except OSError as e:\n"
    "        print(name, errno.errorcode.get(e.errno, e.errno))\n";

static void check_attempts(cloche_sandbox *sb, const char *body,
                           const char *want) {
    char code[4096];
    snprintf(code, sizeof code, "%s%s", attempt_py, body);
    test_expect_stdout(sb, code, want);
}

static void test_readonly_mount(void **state) {
    (void)state;
    cloche_sandbox *sb = mounted_sandbox(1);
    check_attempts(sb,
                   "attempt('read', lambda: open('/mnt/m/f.txt').read())\n"
                   "attempt('sub', lambda: open('/mnt/m/sub/g.txt').read())\n"
                   "attempt('list', lambda: sorted(os.listdir('/mnt/m')))\n"
                   "attempt('single', lambda: open('/etc/single.txt').read())\n"
                   "attempt('write', lambda: open('/mnt/m/f.txt', 'w'))\n"
                   "attempt('create', lambda: open('/mnt/m/new', 'x'))\n"
                   "attempt('mkdir', lambda: os.mkdir('/mnt/m/d'))\n"
                   "attempt('unlink', lambda: os.unlink('/mnt/m/f.txt'))\n"
                   "attempt('rename', lambda: os.rename('/mnt/m/f.txt', '/mnt/m/g'))\n"
                   "attempt('single_w', lambda: open('/etc/single.txt', 'a'))\n",
                   "read ok hello host\n"
                   "sub ok in sub\n"
                   "list ok ['f.txt', 'link_abs', 'link_secret', 'sub']\n"
                   "single ok single\n"
                   "write EROFS\ncreate EROFS\nmkdir EROFS\nunlink EROFS\n"
                   "rename EROFS\nsingle_w EROFS\n");
    assert_string_equal(host_read("m/f.txt"), "hello host");
    assert_string_equal(host_read("single.txt"), "single");
    assert_false(host_exists("m/new"));
    /* Mounts are re-applied by a reset. */
    assert_int_equal(cloche_sandbox_reset(sb), 0);
    test_expect_stdout(sb, "print(open('/mnt/m/f.txt').read())",
                       "hello host\n");
    cloche_sandbox_free(sb);
}

/* Files open at once through mounts are capped per sandbox (each holds
 * a host descriptor), far below the process's limit (issue 10). */
static void test_open_host_files_capped(void **state) {
    (void)state;
    static const char code[] =
        "import errno\n"
        "held = []\n"
        "try:\n"
        "    for i in range(2000):\n"
        "        held.append(open('/mnt/m/f.txt'))\n"
        "except OSError as e:\n"
        "    print(len(held), errno.errorcode[e.errno])\n"
        "held.pop().close()\n"
        "held.append(open('/mnt/m/f.txt'))  # one back, one more\n"
        "f = open('/tmp/mem.txt', 'w')  # memory files do not count\n"
        "print('ok')\n";
    cloche_sandbox *sb = mounted_sandbox(1);
    test_expect_stdout(sb, code, "64 EMFILE\nok\n");
    cloche_sandbox_free(sb);
    static char m[512];
    host_path(m, sizeof m, "m");
    cloche_mount mounts[] = {{m, "/mnt/m", 1}};
    cloche_sandbox_options o = CLOCHE_SANDBOX_OPTIONS_INIT;
    o.mounts = mounts;
    o.mount_count = 1;
    o.max_open_host_files = 10;
    sb = test_sandbox(&o);
    test_expect_stdout(sb, code, "10 EMFILE\nok\n");
    cloche_sandbox_free(sb);
    o.max_open_host_files = 5000;
    assert_int_equal(cloche_sandbox_new(&sb, test_engine(), &o),
                     CLOCHE_EINVAL);
}

static void test_escapes_fail(void **state) {
    (void)state;
    cloche_sandbox *sb = mounted_sandbox(0);
    check_attempts(
        sb,
        /* '..' walks the guest tree, never the host's */
        "attempt('dotdot', lambda: open('/mnt/m/../secret').read())\n"
        "attempt('dotdot2', lambda: open('/mnt/m/sub/../../../secret').read())\n"
        "attempt('chdir', lambda: (os.chdir('/mnt/m'), open('../secret').read()))\n"
        /* links made on the host are never followed */
        "attempt('link_rel', lambda: open('/mnt/m/link_secret').read())\n"
        "attempt('link_abs', lambda: open('/mnt/m/link_abs').read())\n"
        "attempt('link_dir', lambda: os.listdir('/mnt/m/link_secret'))\n"
        /* the guest cannot make links, hard or symbolic */
        "attempt('symlink', lambda: os.symlink('../secret', '/mnt/m/mine'))\n"
        "attempt('symlink_abs', lambda: os.symlink('/etc', '/mnt/m/etc'))\n"
        "attempt('hardlink', lambda: os.link('/mnt/m/f.txt', '/mnt/m/h'))\n"
        /* or move things across the mount's edge */
        "attempt('readlink', lambda: os.readlink('/mnt/m/link_abs'))\n"
        "attempt('rename_out', lambda: os.rename('/mnt/m/f.txt', '/data/f'))\n"
        "open('/data/x', 'w').write('x')\n"
        "attempt('rename_in', lambda: os.rename('/data/x', '/mnt/m/x'))\n"
        /* writes inside the mount land on the host */
        "attempt('write', lambda: open('/mnt/m/new.txt', 'w').write('guest'))\n"
        "attempt('replace', lambda: os.replace('/mnt/m/new.txt', '/mnt/m/sub/moved.txt'))\n",
        "dotdot ENOENT\ndotdot2 ENOENT\nchdir ENOENT\n"
        "link_rel ELOOP\nlink_abs ELOOP\nlink_dir ELOOP\n"
        "symlink ENOTSUP\nsymlink_abs ENOTSUP\nhardlink ENOTSUP\n"
        "readlink ENOTSUP\nrename_out EXDEV\nrename_in EXDEV\n"
        "write ok 5\nreplace ok None\n");
    assert_string_equal(host_read("secret"), "TOP SECRET");
    assert_string_equal(host_read("m/sub/moved.txt"), "guest");
    assert_false(host_exists("m/mine"));
    assert_false(host_exists("m/h"));
    assert_false(host_exists("m/x"));
    assert_false(host_exists("m/etc"));
    assert_false(host_exists("f"));
    cloche_sandbox_free(sb);
}

static void test_mount_errors(void **state) {
    (void)state;
    cloche_engine *e = test_engine();
    char m[512];
    host_path(m, sizeof m, "m");
    struct {
        cloche_mount mount;
        int want;
        const char *msg;
    } bad[] = {
        {{"/nonexistent/cloche", "/mnt/x", 1}, CLOCHE_ENOTFOUND, "/nonexistent"},
        {{m, "relative", 1}, CLOCHE_EINVAL, "absolute"},
        {{m, "/", 1}, CLOCHE_EINVAL, "cannot mount"},
        {{m, "/mnt/../x", 1}, CLOCHE_EINVAL, "cannot mount"},
        {{"/dev/null", "/mnt/null", 1}, CLOCHE_EINVAL, "cannot mount"},
        {{"", "/mnt/x", 1}, CLOCHE_EINVAL, "host path"},
        {{NULL, "/mnt/x", 1}, CLOCHE_EINVAL, "host path"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cloche_sandbox_options o = CLOCHE_SANDBOX_OPTIONS_INIT;
        o.mounts = &bad[i].mount;
        o.mount_count = 1;
        cloche_sandbox *sb = NULL;
        assert_int_equal(cloche_sandbox_new(&sb, e, &o), bad[i].want);
        assert_null(sb);
        assert_non_null(strstr(cloche_sandbox_errmsg(NULL), bad[i].msg));
    }
    /* The same guest path twice. */
    cloche_mount twice[] = {{m, "/mnt/a", 1}, {m, "/mnt/a", 0}};
    cloche_sandbox_options o = CLOCHE_SANDBOX_OPTIONS_INIT;
    o.mounts = twice;
    o.mount_count = 2;
    cloche_sandbox *sb = NULL;
    assert_int_equal(cloche_sandbox_new(&sb, e, &o), CLOCHE_EINVAL);
    o.mount_count = 0;
    o.mounts = NULL;
    assert_int_equal(cloche_sandbox_new(&sb, e, &o), 0);
    cloche_sandbox_free(sb);
}

static void test_data_dir_on_host(void **state) {
    (void)state;
    char m[512];
    host_path(m, sizeof m, "m");
    cloche_mount mount = {m, "/data", 0};
    cloche_sandbox_options o = CLOCHE_SANDBOX_OPTIONS_INIT;
    o.mounts = &mount;
    o.mount_count = 1;
    cloche_sandbox *sb = test_sandbox(&o);
    test_expect_stdout(sb,
                       "open('/data/out.txt', 'w').write('result')\n"
                       "print(open('/data/f.txt').read())",
                       "hello host\n");
    assert_string_equal(host_read("m/out.txt"), "result");
    /* The embedder's file API stays in memory: a mount is the host's. */
    assert_int_equal(cloche_sandbox_write_file(sb, "/data/y", "1", 1),
                     CLOCHE_EINVAL);
    cloche_sandbox_free(sb);
}

static void test_folder_package(void **state) {
    (void)state;
    char pkgs[512];
    host_path(pkgs, sizeof pkgs, "pkgs/");
    cloche_sandbox *sb = test_sandbox(NULL);
    assert_int_equal(cloche_sandbox_add_package(sb, pkgs), 0);
    assert_int_equal(cloche_sandbox_add_package(sb, pkgs), CLOCHE_EINVAL);
    check_attempts(sb,
                   "import hostpkg\n"
                   "attempt('use', lambda: hostpkg.triple(5))\n"
                   "attempt('path', lambda: '/packages/pkgs' in __import__('sys').path)\n"
                   "attempt('write', lambda: open('/packages/pkgs/evil.py', 'w'))\n",
                   "use ok 15\npath ok True\nwrite EROFS\n");
    assert_false(host_exists("pkgs/evil.py"));
    assert_int_equal(cloche_sandbox_reset(sb), 0);
    test_expect_stdout(sb, "import hostpkg\nprint(hostpkg.triple(2))", "6\n");
    cloche_sandbox_free(sb);
}

static void test_snapshot_needs_same_mounts(void **state) {
    (void)state;
    cloche_sandbox *sb = mounted_sandbox(1);
    test_expect_stdout(sb, "f = open('/mnt/m/f.txt')\nprint(f.read(5))",
                       "hello\n");
    uint8_t *snap = NULL;
    size_t len = 0;
    assert_int_equal(cloche_snapshot_save(&snap, &len, sb, NULL), 0);
    cloche_sandbox *same = mounted_sandbox(1);
    assert_int_equal(cloche_snapshot_restore(same, snap, len, NULL), 0);
    test_expect_stdout(same, "print(f.read())", " host\n");
    cloche_sandbox *bare = test_sandbox(NULL);
    assert_int_not_equal(cloche_snapshot_restore(bare, snap, len, NULL), 0);
    test_expect_stdout(bare, "print(1)", "1\n"); /* still usable */
    cloche_buffer_free(snap);
    cloche_sandbox_free(bare);
    cloche_sandbox_free(same);
    cloche_sandbox_free(sb);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_readonly_mount, setup_tree,
                                        teardown_tree),
        cmocka_unit_test_setup_teardown(test_open_host_files_capped,
                                        setup_tree, teardown_tree),
        cmocka_unit_test_setup_teardown(test_escapes_fail, setup_tree,
                                        teardown_tree),
        cmocka_unit_test_setup_teardown(test_mount_errors, setup_tree,
                                        teardown_tree),
        cmocka_unit_test_setup_teardown(test_data_dir_on_host, setup_tree,
                                        teardown_tree),
        cmocka_unit_test_setup_teardown(test_folder_package, setup_tree,
                                        teardown_tree),
        cmocka_unit_test_setup_teardown(test_snapshot_needs_same_mounts,
                                        setup_tree, teardown_tree),
    };
    return cmocka_run_group_tests(tests, test_engine_setup,
                                  test_engine_teardown);
}
