"""State snapshots, image snapshots, fork, restore with tools."""

from __future__ import annotations

import pytest

import cloche


@cloche.tool
def double(n: int) -> int:
    """Twice n."""
    return 2 * n


def test_save_and_load_state(sb: cloche.Sandbox) -> None:
    sb.run_sync("import math\nclass P:\n    def __init__(self, v): self.v = v\n"
                "def area(r): return math.pi * r * r\nitems = [P(3)]\nn = 7")
    state = sb.save_state()
    assert isinstance(state, bytes) and state
    with cloche.Sandbox() as other:
        other.load_state(state)
        r = other.run_sync("(n, items[0].v, round(area(1), 3))")
        assert r.value == [7, 3, 3.142]


def test_save_state_unpicklable(sb: cloche.Sandbox) -> None:
    sb.run_sync("gen = (i for i in range(3))\nok = 1")
    with pytest.raises(cloche.Unpicklable) as ei:
        sb.save_state()
    assert "gen" in str(ei.value)
    state = sb.save_state(skip_unpicklable=True)
    with cloche.Sandbox() as other:
        other.load_state(state)
        assert other.run_sync("ok").value == 1


def test_snapshot_restore_and_fork() -> None:
    with cloche.Sandbox(tools=[double]) as sb:
        sb.run_sync("counter = 10\nopen('/data/f', 'w').write('file!')")
        snap = sb.snapshot()
        a = cloche.Sandbox.restore(snap, tools=[double])
        b = sb.fork()
        with a, b:
            assert a.run_sync("counter += 1; counter").value == 11
            assert b.run_sync("counter += 5; counter").value == 15
            assert sb.run_sync("counter").value == 10
            assert a.read_file("/data/f") == b"file!"
            assert b.run_sync("double(counter)").value == 30


def test_signed_snapshot() -> None:
    with cloche.Sandbox() as sb:
        sb.run_sync("x = 1")
        snap = sb.snapshot(key=b"k" * 32, compression=3)
    with pytest.raises(cloche.SnapshotError):
        cloche.Sandbox.restore(snap, key=b"wrong" * 8)
    with pytest.raises(cloche.SnapshotError):
        cloche.Sandbox.restore(snap)
    with cloche.Sandbox.restore(snap, key=b"k" * 32) as ok:
        assert ok.run_sync("x").value == 1


def test_corrupt_snapshot() -> None:
    with pytest.raises(cloche.SnapshotError):
        cloche.Sandbox.restore(b"not a snapshot at all")
