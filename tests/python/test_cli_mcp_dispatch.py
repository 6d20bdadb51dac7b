"""`cloche mcp` and `cloche run --mcp-server` are handed by the C command
to the Python package (cli/pyexec.c): which commands go, with which
arguments, and the message when the package is missing. The MCP server
itself is tested with the package (python/tests/test_mcp_*.py)."""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLOCHE = os.environ.get("CLOCHE_BIN", str(ROOT / "build" / "cloche"))


def cloche(*args, env=None):
    full = {k: v for k, v in os.environ.items() if k != "CLOCHE_PYTHON"}
    full.update(env or {})
    return subprocess.run([CLOCHE, *args], capture_output=True, text=True,
                          timeout=120, env=full, stdin=subprocess.DEVNULL)


def test_mcp_execs_the_python_half_with_its_arguments():
    p = cloche("mcp", "--http", "0", "--timeout", "2", env={"CLOCHE_PYTHON": "/bin/echo"})
    assert (p.returncode, p.stdout) == (0, "-m cloche._cli mcp --http 0 --timeout 2\n")


def test_run_with_mcp_server_goes_to_python_the_rest_stays_in_c():
    p = cloche("run", "--timeout", "2", "--json", "--mcp-server", "srv --x", "-c", "1",
               env={"CLOCHE_PYTHON": "/bin/echo"})
    assert p.stdout == "-m cloche._cli run --timeout 2 --json --mcp-server srv --x -c 1\n"
    # after the script (or -c CODE) it is the script's own argument
    p = cloche("run", "-c", "import sys; print(sys.argv)", "--mcp-server", "x",
               env={"CLOCHE_PYTHON": "/bin/echo"})
    assert (p.returncode, p.stdout) == (0, "['-c', '--mcp-server', 'x']\n")


def test_missing_package_is_explained(tmp_path):
    if (Path(CLOCHE).resolve().parent / "cloche-python").exists():
        return  # an installed command: its Python half is right there
    # the build's command, with no cloche-python on PATH either
    p = subprocess.run([CLOCHE, "mcp"], capture_output=True, text=True,
                       timeout=60, env={"PATH": str(tmp_path)}, stdin=subprocess.DEVNULL)
    assert p.returncode == 4
    assert "pip install" in p.stderr and "CLOCHE_PYTHON" in p.stderr


def test_help_lists_mcp():
    p = cloche("--help")
    assert "mcp" in p.stdout
    p = cloche("run", "--help")
    assert "--mcp-server" in p.stdout
