"""smolagents: a CodeAgent whose scripted model writes code that the
cloche executor runs, calling the agent's tools from inside the sandbox.
No network, no API keys."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("smolagents")

from smolagents import CodeAgent, Tool  # noqa: E402
from smolagents.models import ChatMessage, MessageRole, Model  # noqa: E402

from cloche.integrations.smolagents import ClocheExecutor  # noqa: E402


class ScriptedModel(Model):  # type: ignore[misc]
    """Answers each step with the next code block."""

    def __init__(self, *codes: str) -> None:
        super().__init__(model_id="scripted")
        self.codes = list(codes)
        self.seen: list[str] = []

    def generate(self, messages: list[Any], stop_sequences: list[str] | None = None,
                 response_format: Any = None, tools_to_call_from: Any = None,
                 **kwargs: Any) -> ChatMessage:
        self.seen.append(str(messages[-1]))
        code = self.codes.pop(0)
        return ChatMessage(role=MessageRole.ASSISTANT,
                           content=f"Thought: next step.\n<code>\n{code}\n</code>")


class Multiply(Tool):  # type: ignore[misc]
    name = "multiply"
    description = "Multiply two integers."
    inputs = {"a": {"type": "integer", "description": "first"},
              "b": {"type": "integer", "description": "second"}}
    output_type = "integer"

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def forward(self, a: int, b: int) -> int:
        self.calls += 1
        return a * b


def test_code_agent_runs_in_cloche_with_tools() -> None:
    mult = Multiply()
    executor = ClocheExecutor(timeout=10)
    model = ScriptedModel(
        "x = multiply(a=6, b=7)\nprint('product', x)",
        "import sys\nfinal_answer({'x': x, 'py': sys.version_info[:2], 'who': who})",
    )
    agent = CodeAgent(tools=[mult], model=model, executor=executor, max_steps=4)
    try:
        answer = agent.run("multiply", additional_args={"who": "tester"})
    finally:
        agent.cleanup()
    assert answer == {"x": 42, "py": [3, 13], "who": "tester"}
    assert mult.calls == 1
    assert "product 42" in model.seen[1]  # the step's logs reached the model
    assert executor.sandbox.closed


def test_errors_reach_the_model_and_the_run_goes_on() -> None:
    executor = ClocheExecutor(timeout=0.5)
    model = ScriptedModel("print('before')\n1 / 0", "while True: pass",
                          "final_answer('recovered')")
    agent = CodeAgent(tools=[], model=model, executor=executor, max_steps=5)
    try:
        assert agent.run("go") == "recovered"
    finally:
        agent.cleanup()
    assert "ZeroDivisionError" in model.seen[1] and "before" in model.seen[1]
    assert "timeout limit" in model.seen[2]


def test_executor_alone() -> None:
    ex = ClocheExecutor()
    try:
        ex.send_tools({"multiply": Multiply()})
        ex.send_variables({"n": 3, "obj": object()})
        out = ex("y = multiply(a=n, b=2)\ny")
        assert (out.output, out.is_final_answer) == (6, False)
        assert ex("isinstance(obj, str)").output is True  # crossed as str()
        out = ex("final_answer(object())")
        assert out.is_final_answer and str(out.output).startswith("<object object")
        out = ex("try:\n    final_answer(1)\nexcept Exception:\n    pass\n'not here'")
        assert out.is_final_answer and out.output == 1  # not swallowed by except Exception
    finally:
        ex.cleanup()
