"""A durable run: the sandboxed code waits for a human; the paused run is
written to disk and finished later, here in the same script.

    python examples/package_durable.py
"""

from __future__ import annotations

import pathlib
import tempfile

import cloche

ask_human = cloche.Tool(
    None, name="ask_human", description="Ask the operator a question.",
    schema={"type": "object", "properties": {"question": {"type": "string"}},
            "required": ["question"]})

CODE = """
answer = await ask_human(question="Deploy to production?")
"deploying" if answer == "yes" else "holding"
"""


def main() -> None:
    with cloche.Sandbox(tools=[ask_human]) as sb:
        step = sb.start_sync(CODE)
        assert isinstance(step, cloche.Pending)
        (call,) = step.calls
        print("the code asks:", call.args["question"])
        saved = pathlib.Path(tempfile.mkdtemp()) / "paused.img"
        saved.write_bytes(step.snapshot())  # no guest code is live now

    # ... hours later, possibly in another process:
    with cloche.Sandbox.restore(saved.read_bytes(), tools=[ask_human]) as sb:
        pending = sb.pending
        assert pending is not None
        result = pending.resume_sync({pending.calls[0].id: "yes"})
        assert isinstance(result, cloche.Result)
        print(result.value)  # deploying


if __name__ == "__main__":
    main()
