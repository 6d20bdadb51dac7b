"""The installed package: the `cloche` command, the wheel in a fresh venv,
typing (mypy --strict), and the README/guide examples run as tests."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import cloche

ROOT = Path(__file__).resolve().parents[2]


def test_cloche_command_installed(cloche_bin: str) -> None:
    p = subprocess.run([cloche_bin, "run", "-c", "print(1+1)"],
                       capture_output=True, text=True, timeout=120)
    assert (p.returncode, p.stdout) == (0, "2\n")
    p = subprocess.run([cloche_bin, "run", "--json", "-c", "6*7"],
                       capture_output=True, text=True, timeout=120)
    assert json.loads(p.stdout)["value"] == 42


def test_command_runs_without_importing_the_package(cloche_bin: str) -> None:
    """The wheel's `cloche` is a console script over the extension
    (_cloche_entry.py): it must not pay for `import cloche` (pydantic)."""
    with open(cloche_bin, "rb") as f:
        if f.read(2) != b"#!":
            pytest.skip("the command is a C binary here (a development build)")
    p = subprocess.run([sys.executable, "-X", "importtime", cloche_bin, "version"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and p.stdout.startswith("cloche ")
    imported = {line.split("|")[-1].strip() for line in p.stderr.splitlines()}
    assert "_cloche_entry" in imported
    assert not {"cloche", "pydantic", "asyncio"} & imported


def test_wheel_carries_libcloche_once() -> None:
    """The guest image is in the extension only (a second copy in a C
    binary put the wheel over PyPI's 100 MB per-file limit)."""
    wheel = os.environ.get("CLOCHE_WHEEL")
    if not wheel:
        pytest.skip("CLOCHE_WHEEL not set")
    with zipfile.ZipFile(wheel) as z:
        big = [i.filename for i in z.infolist() if i.file_size > 8 << 20]
        assert "_cloche_entry.py" in z.namelist()
    assert big == ["cloche/_native.abi3.so"]
    assert os.path.getsize(wheel) < 100 << 20


def test_package_is_typed_and_self_contained() -> None:
    pkg = Path(cloche.__file__).parent
    assert (pkg / "py.typed").exists() and (pkg / "_native.pyi").exists()
    native = next(pkg.glob("_native*.so"))
    assert native.name == "_native.abi3.so"  # one wheel for CPython >= 3.10
    if shutil.which("ldd"):
        libs = subprocess.run(["ldd", str(native)], capture_output=True, text=True).stdout
        assert "libwasmtime" not in libs and "libcloche" not in libs
        assert "libssl" not in libs and "libzstd" not in libs


def test_mypy_strict_on_package_examples_and_tests() -> None:
    files = [str(ROOT / "python" / "cloche"), str(ROOT / "python" / "tests"),
             str(ROOT / "python" / "_cloche_entry.py"),
             str(ROOT / "bench" / "bench_python.py"),
             *map(str, sorted((ROOT / "examples").glob("package_*.py")))]
    p = subprocess.run([sys.executable, "-m", "mypy", "--strict",
                        "--cache-dir", str(ROOT / "build" / "mypy-cache"), *files],
                       capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert p.returncode == 0, p.stdout + p.stderr


def _python_blocks(path: Path, start: str | None = None) -> list[str]:
    text = path.read_text()
    if start is not None:
        text = text[text.index(start):]
        end = re.search(r"\n## ", text[3:])
        text = text[: end.start() + 3] if end else text
    return re.findall(r"```python\n(.*?)```", text, re.S)


def _run_block(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "block.py"
    script.write_text(code)
    return subprocess.run([sys.executable, str(script)], capture_output=True,
                          text=True, timeout=300, cwd=tmp_path)


@pytest.mark.parametrize("index", range(len(_python_blocks(ROOT / "README.md",
                                                           "## Using the Python package"))))
def test_readme_python_examples(index: int, tmp_path: Path) -> None:
    block = _python_blocks(ROOT / "README.md", "## Using the Python package")[index]
    p = _run_block(block, tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.mark.parametrize("index", range(len(_python_blocks(ROOT / "docs" / "python.md"))))
def test_guide_examples(index: int, tmp_path: Path) -> None:
    block = _python_blocks(ROOT / "docs" / "python.md")[index]
    p = _run_block(block, tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.mark.parametrize("example", sorted(p.name for p in (ROOT / "examples").glob("package_*.py")))
def test_examples_run(example: str, tmp_path: Path) -> None:
    p = _run_block((ROOT / "examples" / example).read_text(), tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr


def _other_pythons() -> list[str]:
    """Other CPython >= 3.10 interpreters on this machine (pyenv's, or
    python3.X on PATH), to show the one abi3 wheel serves them all."""
    found: dict[str, str] = {}
    for minor in range(10, 15):
        tag = f"3.{minor}"
        if tag == f"{sys.version_info[0]}.{sys.version_info[1]}":
            continue
        pyenv = sorted(Path.home().glob(f".pyenv/versions/{tag}.*/bin/python{tag}"))
        exe = str(pyenv[-1]) if pyenv else shutil.which(f"python{tag}")
        if exe:
            found[tag] = exe
    return list(found.values())


CHECK = """
import asyncio, sys, cloche

@cloche.tool
async def twice(n: int) -> int:
    return 2 * n

async def main() -> None:
    async with cloche.Sandbox(tools=[twice]) as sb:
        r = await sb.run("import asyncio\\nawait asyncio.gather(twice(1), twice(20))")
        print(r.value)

asyncio.run(main())
with cloche.Sandbox() as sb:
    print(sb.run_sync("6 * 7").value)
"""


def test_wheel_installs_in_a_fresh_venv(tmp_path: Path) -> None:
    wheel = os.environ.get("CLOCHE_WHEEL")
    if not wheel:
        out = tmp_path / "dist"
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                        "--no-build-isolation", "-w", str(out), str(ROOT)],
                       check=True, capture_output=True, timeout=1800)
        wheel = str(next(out.glob("cloche-*.whl")))
    assert "-cp310-abi3-" in Path(wheel).name
    (tmp_path / "check.py").write_text(CHECK)
    for i, python in enumerate([sys.executable, *_other_pythons()]):
        venv = tmp_path / f"venv{i}"
        subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=300)
        py = venv / "bin" / "python"
        subprocess.run([str(py), "-m", "pip", "install", "-q", wheel],
                       check=True, capture_output=True, timeout=900)
        p = subprocess.run([str(py), str(tmp_path / "check.py")], capture_output=True,
                           text=True, timeout=300, cwd=tmp_path)
        assert p.stdout.split() == ["[2,", "40]", "42"], (python, p.stderr)
        p = subprocess.run([str(venv / "bin" / "cloche"), "run", "-c", "print('cli')"],
                           capture_output=True, text=True, timeout=300)
        assert p.stdout == "cli\n"
