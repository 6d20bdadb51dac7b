"""Files in and out, files=, mounts, packages."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

import cloche


def test_write_and_read_file(sb: cloche.Sandbox) -> None:
    sb.write_file("/data/in.csv", "a,b\n1,2\n")
    sb.write_file("/tmp/deep/x.bin", b"\x00\x01")
    r = sb.run_sync("import csv\nrows = list(csv.reader(open('/data/in.csv')))\n"
                    "open('/data/out.txt', 'w').write(str(len(rows)))\n"
                    "open('/tmp/deep/x.bin', 'rb').read()")
    assert r.value == "b'\\x00\\x01'"
    assert sb.read_file("/data/out.txt") == b"2"
    with pytest.raises(cloche.NotFound):
        sb.read_file("/data/missing")
    with pytest.raises(FileNotFoundError):
        sb.read_file("/data/missing")


def test_files_option_survives_reset() -> None:
    with cloche.Sandbox(files={"/data/config.json": '{"k": 1}'}) as sb:
        assert sb.run_sync("import json\njson.load(open('/data/config.json'))").value == {"k": 1}
        sb.run_sync("open('/data/config.json', 'w').write('changed')")
        sb.reset()
        assert sb.read_file("/data/config.json") == b'{"k": 1}'


def test_disk_quota() -> None:
    with cloche.Sandbox(disk_quota="64k") as sb:
        with pytest.raises(cloche.TooBig):
            sb.write_file("/data/big", b"x" * 100_000)
        r = sb.run_sync("open('/data/big', 'wb').write(b'x' * 100_000)")
        assert r.exception is not None and r.exception.type == "OSError"


def test_mounts_readonly_and_readwrite(tmp_path: Path) -> None:
    src = tmp_path / "reports"
    src.mkdir()
    (src / "q1.txt").write_text("revenue 10")
    out = tmp_path / "out"
    out.mkdir()
    with cloche.Sandbox(mounts=[cloche.Mount(src, "/mnt/reports"),
                                f"{out}:/mnt/out:rw"]) as sb:
        r = sb.run_sync("open('/mnt/reports/q1.txt').read()")
        assert r.value == "revenue 10"
        r = sb.run_sync("open('/mnt/reports/new', 'w')")
        assert r.exception is not None and r.exception.type == "OSError"
        sb.run_sync("open('/mnt/out/result.txt', 'w').write('ok')", check=True)
        assert (out / "result.txt").read_text() == "ok"
        r = sb.run_sync("open('/mnt/reports/../../etc/passwd').read()")
        assert r.exception is not None


def test_mount_missing_host_path(tmp_path: Path) -> None:
    with pytest.raises(cloche.NotFound):
        cloche.Sandbox(mounts=[(str(tmp_path / "nope"), "/mnt/x")])


def test_packages_wheel_zip_and_folder(tmp_path: Path) -> None:
    folder = tmp_path / "pkgs"
    (folder / "greet").mkdir(parents=True)
    (folder / "greet" / "__init__.py").write_text("def hi(): return 'hi from folder'\n")
    zpath = tmp_path / "zipped.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        z.writestr("zipped_mod.py", "VALUE = 'from zip'\n")
    with cloche.Sandbox(packages=[folder]) as sb:
        sb.add_package(zpath)
        r = sb.run_sync("import greet, zipped_mod\n(greet.hi(), zipped_mod.VALUE)")
        assert r.value == ["hi from folder", "from zip"]
        sb.reset()
        assert sb.run_sync("import zipped_mod\nzipped_mod.VALUE").value == "from zip"
        (tmp_path / "x.txt").write_text("not a package")
        with pytest.raises(cloche.InvalidArgument):
            sb.add_package(tmp_path / "x.txt")


def test_max_open_files_through_mounts(tmp_path: Path) -> None:
    for i in range(4):
        (tmp_path / f"f{i}").write_text(str(i))
    with cloche.Sandbox(mounts=[(str(tmp_path), "/mnt/h")], max_open_files=2) as sb:
        r = sb.run_sync("fs = [open(f'/mnt/h/f{i}') for i in range(2)]\n"
                        "try:\n    open('/mnt/h/f2')\nexcept OSError as e:\n"
                        "    err = e.errno\nimport errno\nerr == errno.EMFILE")
        assert r.value is True
