"""`cloche wasi-run`: any wasm32-wasip1 command module on cloche's own WASI
layer. C programs are compiled here with the project's wasm toolchain
(tools/toolchain.sh) and, for the conformance check, natively with cc: both
builds must print the same thing."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLOCHE = os.path.abspath(os.environ.get("CLOCHE_BIN",
                                        str(ROOT / "build" / "cloche")))


@pytest.fixture(scope="module")
def wasm_cc():
    p = subprocess.run(["bash", str(ROOT / "tools" / "toolchain.sh")],
                       capture_output=True, text=True, timeout=600)
    clang = Path(p.stdout.strip().splitlines()[-1]) / "sdk" / "bin" / "clang"
    if p.returncode != 0 or not clang.exists():
        pytest.skip("no wasm32-wasip1 toolchain")
    return str(clang)


def build(cc, src, out, *flags):
    subprocess.run([cc, "-O1", *flags, "-o", str(out), "-x", "c", "-"],
                   input=src, text=True, check=True, capture_output=True)
    return out


def wasi_run(*args, cwd=None):
    return subprocess.run([CLOCHE, "wasi-run", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd)


HELLO = r"""
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
    for (int i = 0; i < argc; i++) printf("arg %d %s\n", i, argv[i]);
    printf("env %s\n", getenv("GREETING") ? getenv("GREETING") : "-");
    return argc > 1 ? atoi(argv[1]) : 0;
}
"""


def test_args_env_and_exit_code(wasm_cc, tmp_path):
    mod = build(wasm_cc, HELLO, tmp_path / "hello.wasm")
    p = wasi_run("--env", "GREETING=hi", str(mod), "7", "two words")
    assert p.returncode == 7, p.stderr
    assert p.stdout == ("arg 0 hello.wasm\narg 1 7\narg 2 two words\n"
                        "env hi\n")
    p = wasi_run(str(mod))
    assert (p.returncode, p.stdout) == (0, "arg 0 hello.wasm\nenv -\n")


def test_trap_usage_and_bad_modules(wasm_cc, tmp_path):
    mod = build(wasm_cc, "int main(void) { __builtin_trap(); }",
                tmp_path / "trap.wasm")
    p = wasi_run(str(mod))
    assert p.returncode == 134
    assert "unreachable" in p.stderr
    assert wasi_run().returncode == 2
    assert wasi_run("--dir").returncode == 2
    (tmp_path / "junk.wasm").write_bytes(b"\0asm junk")
    assert wasi_run(str(tmp_path / "junk.wasm")).returncode == 2
    assert wasi_run(str(tmp_path / "missing.wasm")).returncode == 2
    reactor = build(wasm_cc, "int f(void) { return 1; }",
                    tmp_path / "reactor.wasm", "-mexec-model=reactor")
    p = wasi_run(str(reactor))
    assert p.returncode == 2 and "_start" in p.stderr


# The same program natively and on cloche's WASI layer: files in a
# mounted folder, directories, seeking, truncation, renames, stat, clocks,
# sleeping, randomness. It prints only what both must agree on.
CONFORMANCE = r"""
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SHOW(expr) printf("%-40s %d\n", #expr, (int)(expr))

static int cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void) {
    char buf[64] = "";
    SHOW(mkdir("d/sub", 0755));
    SHOW(mkdir("d/sub", 0755) == -1 && errno == EEXIST);
    int fd = open("d/sub/f.txt", O_CREAT | O_RDWR | O_TRUNC, 0644);
    SHOW(fd >= 0);
    SHOW(write(fd, "hello world", 11));
    SHOW(lseek(fd, 6, SEEK_SET));
    SHOW(read(fd, buf, sizeof buf));
    printf("read: %s\n", buf);
    SHOW(ftruncate(fd, 5));
    struct stat st;
    SHOW(fstat(fd, &st) == 0 && st.st_size == 5 && S_ISREG(st.st_mode));
    SHOW(pwrite(fd, "!", 1, 9));
    SHOW(fstat(fd, &st) == 0 && st.st_size == 10);
    SHOW(close(fd));
    SHOW(rename("d/sub/f.txt", "d/g.txt"));
    SHOW(access("d/sub/f.txt", F_OK) == -1 && errno == ENOENT);
    SHOW(stat("d/g.txt", &st) == 0 && st.st_size == 10);
    SHOW(open("d/nope/x", O_RDONLY) == -1 && errno == ENOENT);
    SHOW(open("d/g.txt/x", O_RDONLY) == -1 && errno == ENOTDIR);
    SHOW(rmdir("d/sub"));
    SHOW(unlink("d/missing") == -1 && errno == ENOENT);
    SHOW(mkdir("d/full", 0755) == 0 && close(open("d/full/x", O_CREAT |
                                                  O_WRONLY, 0644)) == 0);
    SHOW(rmdir("d/full") == -1 && errno == ENOTEMPTY);
    SHOW(unlink("d/full/x") == 0 && rmdir("d/full") == 0);
    char *names[16];
    int n = 0;
    DIR *dir = opendir("d");
    struct dirent *e;
    while (dir && (e = readdir(dir)) && n < 16)
        if (e->d_name[0] != '.') names[n++] = strdup(e->d_name);
    if (dir) closedir(dir);
    qsort(names, n, sizeof *names, cmp);
    for (int i = 0; i < n; i++) printf("entry %s\n", names[i]);
    FILE *f = fopen("d/in.txt", "r");
    SHOW(f != NULL && fgets(buf, sizeof buf, f) != NULL);
    printf("host file: %s", buf);
    if (f) fclose(f);
    struct timespec a, b, z = {0, 20 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &a);
    SHOW(nanosleep(&z, NULL));
    clock_gettime(CLOCK_MONOTONIC, &b);
    long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    SHOW(ms >= 19 && ms < 2000);
    SHOW(time(NULL) > 1700000000);
    unsigned char r1[16] = {0}, r2[16] = {0};
    SHOW(getentropy(r1, 16) == 0 && getentropy(r2, 16) == 0 &&
         memcmp(r1, r2, 16) != 0);
    return 0;
}
"""


def test_conformance_with_native(wasm_cc, tmp_path):
    native_cc = shutil.which("cc") or shutil.which("gcc")
    if not native_cc:
        pytest.skip("no native C compiler")
    mod = build(wasm_cc, CONFORMANCE, tmp_path / "conf.wasm")
    exe = build(native_cc, CONFORMANCE, tmp_path / "conf")
    outputs = []
    for runner in ("native", "wasi"):
        work = tmp_path / runner
        (work / "d").mkdir(parents=True)
        (work / "d" / "in.txt").write_text("from the host\n")
        if runner == "native":
            p = subprocess.run([str(exe)], capture_output=True, text=True,
                               cwd=work, timeout=60)
        else:
            p = wasi_run("--dir", f"{work / 'd'}::/d", str(mod), cwd=work)
        assert p.returncode == 0, p.stderr
        outputs.append(p.stdout)
        assert sorted(os.listdir(work / "d")) == ["g.txt", "in.txt"]
        assert (work / "d" / "g.txt").read_bytes() == b"hello\0\0\0\0!"
    assert outputs[1] == outputs[0]


def test_confinement(wasm_cc, tmp_path):
    src = r"""
    #include <stdio.h>
    int main(void) {
        const char *paths[] = {"d/../../secret", "/d/../secret", "secret",
                               "/etc/passwd", "d/link"};
        for (int i = 0; i < 5; i++)
            printf("%s %s\n", paths[i], fopen(paths[i], "r") ? "OPEN" : "no");
        return 0;
    }
    """
    mod = build(wasm_cc, src, tmp_path / "esc.wasm")
    (tmp_path / "secret").write_text("outside")
    (tmp_path / "d").mkdir()
    os.symlink(tmp_path / "secret", tmp_path / "d" / "link")
    p = wasi_run("--dir", f"{tmp_path / 'd'}::/d", str(mod), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "OPEN" not in p.stdout


def test_wasi_testsuite_adapter(wasm_cc, tmp_path):
    adapter = ROOT / "cli" / "wasi_testsuite_adapter.py"
    env = dict(os.environ, TEST_RUNTIME_EXE=CLOCHE)
    p = subprocess.run([sys.executable, str(adapter), "--version"],
                       capture_output=True, text=True, env=env)
    assert p.returncode == 0 and p.stdout.startswith("cloche ")
    src = r"""
    #include <stdio.h>
    #include <stdlib.h>
    int main(int argc, char **argv) {
        FILE *f = fopen("fs-tests.dir/out", "w");
        fputs(getenv("K"), f);
        fclose(f);
        printf("%s\n", argv[1]);
        return 3;
    }
    """
    mod = build(wasm_cc, src, tmp_path / "t.wasm")
    (tmp_path / "fs-tests.dir").mkdir()
    p = subprocess.run([sys.executable, str(adapter), "--test-file",
                        str(mod), "--arg", "A1", "--env", "K=V",
                        "--dir", "fs-tests.dir"], capture_output=True,
                       text=True, env=env, cwd=tmp_path)
    assert (p.returncode, p.stdout) == (3, "A1\n"), p.stderr
    assert (tmp_path / "fs-tests.dir" / "out").read_text() == "V"
