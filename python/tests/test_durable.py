"""Durable runs: start -> Pending -> answers; a pending run snapshotted,
restored in a child process and resumed there."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import cloche

ask_human = cloche.Tool(None, name="ask_human",
                        schema={"type": "object", "properties": {"q": {"type": "string"}}})


@cloche.tool
def shout(text: str) -> str:
    """Upper-case text."""
    return text.upper()


CODE = ("import asyncio\n"
        "a, b = await asyncio.gather(ask_human(q='name?'), ask_human(q='age?'))\n"
        "c = await ask_human(q=f'hello {a}, {b}?')\n"
        "f'{a}/{b}/{c}'")


async def test_start_pending_resume() -> None:
    async with cloche.Sandbox(tools=[ask_human]) as sb:
        step = await sb.start(CODE)
        assert isinstance(step, cloche.Pending)
        assert sorted(c.args["q"] for c in step.calls) == ["age?", "name?"]
        assert sb.pending is not None
        answers = {c.id: ("Ada" if c.args["q"] == "name?" else 36) for c in step.calls}
        step = await step.resume(answers)
        assert isinstance(step, cloche.Pending)
        assert [c.args for c in step.calls] == [{"q": "hello Ada, 36?"}]
        step = await step.resume({step.calls[0].id: "yes"})
        assert isinstance(step, cloche.Result) and step.value == "Ada/36/yes"
        assert sb.pending is None
        assert (await sb.run("1")).value == 1


def test_start_sync_errors_and_partial_answers() -> None:
    with cloche.Sandbox(tools=[ask_human]) as sb:
        step = sb.start_sync(CODE)
        assert isinstance(step, cloche.Pending) and len(step.calls) == 2
        first, second = step.calls
        step = step.resume_sync({first.id: "x"})   # one answered, one left
        assert isinstance(step, cloche.Pending)
        assert [c.id for c in step.calls] == [second.id]
        step = step.resume_sync(errors={second.id: "no idea"})
        assert isinstance(step, cloche.Result)
        assert step.exception is not None and step.exception.type == "CallbackError"
        assert "no idea" in step.exception.message


def test_sync_style_calls_still_run_tools() -> None:
    with cloche.Sandbox(tools=[shout]) as sb:
        step = sb.start_sync("shout('hi')")
        assert isinstance(step, cloche.Result) and step.value == "HI"


async def test_finish_runs_tools() -> None:
    async with cloche.Sandbox(tools=[shout]) as sb:
        step = await sb.start("import asyncio\nawait asyncio.gather(shout('a'), shout('b'))")
        assert isinstance(step, cloche.Pending)
        assert {c.name for c in step.calls} == {"shout"}
        result = await step.finish()
        assert result.value == ["A", "B"]


def test_pending_cancel_frees_the_sandbox() -> None:
    with cloche.Sandbox(tools=[ask_human]) as sb:
        step = sb.start_sync(CODE)
        assert isinstance(step, cloche.Pending)
        with pytest.raises(cloche.InvalidState):
            sb.run_sync("1")
        step.cancel()
        assert sb.pending is None
        assert sb.run_sync("'free'").value == "free"


CHILD = textwrap.dedent("""
    import sys, cloche
    ask_human = cloche.Tool(None, name="ask_human")
    data = open(sys.argv[1], "rb").read()
    sb = cloche.Sandbox.restore(data, tools=[ask_human])
    pending = sb.pending
    assert pending is not None
    (call,) = pending.calls
    step = pending.resume_sync({call.id: "from the child"})
    if isinstance(step, cloche.Pending):
        (call,) = step.calls
        step = step.resume_sync({call.id: call.args["q"].upper()})
    print(step.value)
""")


def test_pending_snapshot_resumed_in_child_process(tmp_path: Path) -> None:
    with cloche.Sandbox(tools=[ask_human]) as sb:
        step = sb.start_sync(CODE)
        assert isinstance(step, cloche.Pending)
        for c in step.calls:
            if c.args["q"] == "age?":
                c.answer(41)               # answered here, before the snapshot
        snap = step.snapshot()
    path = tmp_path / "run.img"
    path.write_bytes(snap)
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    p = subprocess.run([sys.executable, str(script), str(path)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "from the child/41/HELLO FROM THE CHILD, 41?"
