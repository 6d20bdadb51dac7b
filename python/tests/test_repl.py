"""`cloche repl` through a pseudo-terminal (pexpect), as a person uses it:
line editing and history, multi-line blocks, Tab completion from inside
the sandbox, Ctrl-C (the running code stops, the session stays), Ctrl-D,
and `cloche run`'s flags."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

pexpect = pytest.importorskip("pexpect")

PROMPT = ">>> "


def spawn(cloche_bin: str, tmp_path: Path, *args: str) -> Any:
    env = dict(os.environ, XDG_STATE_HOME=str(tmp_path / "state"), TERM="dumb")
    env.pop("CLOCHE_NO_LINEEDIT", None)
    child = pexpect.spawn(cloche_bin, ["repl", *args], env=env, encoding="utf-8",
                          timeout=30, dimensions=(24, 200))
    child.expect(r"Python 3\.13\.\d+ in a sandbox")
    child.expect_exact(PROMPT)
    return child


def libedit_present() -> bool:
    return any(Path(d, "libedit.so.2").exists()
               for d in ("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu",
                         "/usr/lib64", "/usr/lib"))


def test_blocks_values_and_exit(cloche_bin: str, tmp_path: Path) -> None:
    c = spawn(cloche_bin, tmp_path)
    c.sendline("def f(x):")
    c.expect_exact("... ")
    c.sendline("    return x * 2")
    c.expect_exact("... ")
    c.sendline("")
    c.expect_exact(PROMPT)
    c.sendline("f(21)")
    c.expect_exact("42")
    c.expect_exact(PROMPT)
    c.sendline("import asyncio; await asyncio.sleep(0); [1, 2]")  # top-level await
    c.expect_exact("[1, 2]")
    c.expect_exact(PROMPT)
    c.sendline("1/0")
    c.expect_exact("ZeroDivisionError: division by zero")
    c.expect_exact(PROMPT)
    c.sendline("(1 +")  # an open bracket continues the statement
    c.expect_exact("... ")
    c.sendline(" 2)")
    c.expect_exact("3")
    c.expect_exact(PROMPT)
    c.sendeof()  # Ctrl-D leaves
    c.expect(pexpect.EOF)
    c.close()
    assert c.exitstatus == 0


def test_ctrl_c_stops_the_run_and_keeps_the_session(cloche_bin: str, tmp_path: Path) -> None:
    c = spawn(cloche_bin, tmp_path)
    c.sendline("kept = 'still here'; n = 0")
    c.expect_exact(PROMPT)
    c.sendline("while True: n += 1")
    c.expect_exact("... ")  # a compound statement: python3 waits for a blank line
    c.sendline("")
    time.sleep(0.5)
    t0 = time.monotonic()
    c.sendintr()  # KeyboardInterrupt raised in the code, as in python3
    c.expect_exact("Traceback (most recent call last):")
    c.expect_exact("KeyboardInterrupt")
    c.expect_exact(PROMPT)
    assert time.monotonic() - t0 < 5
    c.sendline("kept, n > 0")  # the session, and what the loop did, are kept
    c.expect_exact("('still here', True)")
    c.expect_exact(PROMPT)
    c.sendline("import time; time.sleep(60); after = 1")  # a sleep ends at once too
    time.sleep(0.5)
    t0 = time.monotonic()
    c.sendintr()
    c.expect_exact("KeyboardInterrupt")
    c.expect_exact(PROMPT)
    assert time.monotonic() - t0 < 5
    c.sendline("'after' in globals(), kept")
    c.expect_exact("(False, 'still here')")
    c.expect_exact(PROMPT)
    c.send("half a line")  # Ctrl-C while typing drops the line
    c.sendintr()
    c.expect_exact("KeyboardInterrupt")
    c.expect_exact(PROMPT)
    c.sendline(":quit")
    c.expect(pexpect.EOF)


def test_live_output(cloche_bin: str, tmp_path: Path) -> None:
    c = spawn(cloche_bin, tmp_path)
    c.sendline("import time")
    c.expect_exact(PROMPT)
    c.sendline("print('first', flush=True); time.sleep(1.5); print('second')")
    t0 = time.monotonic()
    c.expect_exact("first")
    assert time.monotonic() - t0 < 1.2  # shown before the run ends
    c.expect_exact("second")
    c.expect_exact(PROMPT)
    c.sendeof()
    c.expect(pexpect.EOF)


@pytest.mark.skipif(not libedit_present(), reason="no libedit.so.2 on this machine")
def test_tab_completion_and_history(cloche_bin: str, tmp_path: Path) -> None:
    c = spawn(cloche_bin, tmp_path)
    c.sendline("import collections")
    c.expect_exact(PROMPT)
    c.sendline("my_long_variable = 7")
    c.expect_exact(PROMPT)
    c.send("my_long_va\t")  # a global of the session
    c.expect_exact("my_long_variable")
    c.sendline("")
    c.expect_exact("7")
    c.expect_exact(PROMPT)
    c.send("collections.Ordered\t")  # an attribute, looked up in the sandbox
    c.expect_exact("collections.OrderedDict(")
    c.sendline(")")
    c.expect_exact("OrderedDict()")
    c.expect_exact(PROMPT)
    c.send("\x1b[A")  # Up arrow: the previous line, not ^[[A
    c.sendline("")
    c.expect_exact("OrderedDict()")
    c.expect_exact(PROMPT)
    c.sendeof()
    c.expect(pexpect.EOF)
    history = (tmp_path / "state" / "cloche" / "repl_history").read_text()
    assert "my_long_variable" in history and "collections.OrderedDict()" in history
    # a new session (fresh globals) recalls the last one's lines
    c = spawn(cloche_bin, tmp_path)
    c.send("\x1b[A")
    c.sendline("")
    c.expect_exact("NameError: name 'collections' is not defined")
    # wait for the prompt: a Ctrl-D typed ahead while the terminal is still
    # in cooked mode (between two lines) can be dropped when line editing
    # switches it to raw mode
    c.expect_exact(PROMPT)
    c.sendeof()
    c.expect(pexpect.EOF)


def test_run_flags_apply(cloche_bin: str, tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "note.txt").write_text("from the host")
    c = spawn(cloche_bin, tmp_path, "--timeout", "0.5", "--memory", "64M",
              "--mount", f"{tmp_path / 'shared'}:/mnt/shared")
    c.sendline("open('/mnt/shared/note.txt').read()")
    c.expect_exact("'from the host'")
    c.expect_exact(PROMPT)
    c.sendline("while True: pass")
    c.sendline("")
    c.expect("limit")
    c.expect_exact(PROMPT)
    c.sendeof()
    c.expect(pexpect.EOF)


def test_piped_input_still_works(cloche_bin: str) -> None:
    p = subprocess.run([cloche_bin, "repl"], input="x = 2\nfor i in range(2):\n    x *= 3\n\nx\n",
                       capture_output=True, text=True, timeout=60)
    assert (p.returncode, p.stdout) == (0, "18\n")
    p = subprocess.run([cloche_bin, "repl", "--bogus"], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 2
