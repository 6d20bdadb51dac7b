"""pydantic-ai: an agent whose (offline, scripted) model writes code that
ClocheToolset runs in a sandbox. No network, no API keys."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

pytest.importorskip("pydantic_ai")

from pydantic_ai import Agent  # noqa: E402
from pydantic_ai.messages import (ModelMessage, ModelRequest, ModelResponse, TextPart,  # noqa: E402
                                  ToolCallPart, ToolReturnPart)
from pydantic_ai.models.function import AgentInfo, FunctionModel  # noqa: E402
from pydantic_ai.models.test import TestModel  # noqa: E402

import cloche  # noqa: E402
from cloche.integrations.pydantic_ai import ClocheToolset  # noqa: E402


def _returns(messages: list[ModelMessage]) -> list[str]:
    return [str(p.content) for m in messages if isinstance(m, ModelRequest)
            for p in m.parts if isinstance(p, ToolReturnPart)]


def scripted(*codes: str) -> FunctionModel:
    """A model that calls run_python with each code in turn, then answers
    with the last tool output."""

    def model(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        done = _returns(messages)
        if len(done) < len(codes):
            return ModelResponse(parts=[ToolCallPart("run_python", {"code": codes[len(done)]})])
        return ModelResponse(parts=[TextPart("answer: " + done[-1])])

    return FunctionModel(model)


async def test_agent_runs_model_code_in_the_sandbox() -> None:
    toolset = ClocheToolset(timeout=5)
    agent = Agent(scripted("import math\nx = math.factorial(5)\nprint('x is', x)",
                           "x * 2"), toolsets=[toolset])
    result = await agent.run("compute")
    # the second call sees the first call's variable: one sandbox per run
    assert result.output == "answer: [value]\n240"
    returns = _returns(result.all_messages())
    assert returns[0] == "[stdout]\nx is 120"
    assert not toolset._boxes  # the run's sandbox was closed with the run


async def test_tool_definition_tells_the_model_what_the_sandbox_offers() -> None:
    seen: dict[str, Any] = {}

    def model(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        seen.update({t.name: t for t in info.function_tools})
        return ModelResponse(parts=[TextPart("ok")])

    await Agent(FunctionModel(model), toolsets=[ClocheToolset()]).run("hi")
    tool = seen["run_python"]
    assert "CPython 3.13" in (tool.description or "") and "No network" in (tool.description or "")
    assert tool.parameters_json_schema["required"] == ["code"]
    assert "top-level await" in str(tool.parameters_json_schema)


async def test_errors_and_limits_come_back_as_text() -> None:
    agent = Agent(scripted("1/0", "while True: pass"), toolsets=[ClocheToolset(timeout=0.5)])
    result = await agent.run("go")
    first, second = _returns(result.all_messages())
    assert "ZeroDivisionError" in first and first.startswith("[error]")
    assert "time limit (0.5 s)" in second


async def test_session_per_conversation_and_host_tools() -> None:
    @cloche.tool
    def lookup(key: str) -> str:
        """Look a key up on the host."""
        return key.upper()

    toolset = ClocheToolset(session=lambda ctx: ctx.deps, tools=[lookup])
    a1 = Agent(scripted("seen = [lookup('a')]\nseen"), toolsets=[toolset], deps_type=str)
    a2 = Agent(scripted("seen.append(lookup('b'))\nseen"), toolsets=[toolset], deps_type=str)
    r = await a1.run("one", deps="conv-1")
    assert r.output == "answer: [value]\n['A']"
    r = await a2.run("two", deps="conv-1")  # same conversation: same sandbox
    assert r.output == "answer: [value]\n['A', 'B']"
    r = await a2.run("three", deps="conv-2")  # another conversation: fresh
    assert "NameError" in r.output
    toolset.close()


async def test_with_test_model_and_call_mode() -> None:
    toolset = ClocheToolset(session="call")
    agent = Agent(TestModel(call_tools=["run_python"]), toolsets=[toolset])
    result = await agent.run("anything")
    # TestModel sends a generated string as code: whatever it is, the
    # sandbox answered and the run finished
    assert _returns(result.all_messages())
    assert isinstance(result.output, str)


async def test_concurrent_runs_get_their_own_sandboxes() -> None:
    toolset = ClocheToolset()
    agent = Agent(scripted("import time\nt = time.time()\nwhile time.time() - t < 0.3: pass\n'done'"),
                  toolsets=[toolset])
    t0 = asyncio.get_running_loop().time()
    results = await asyncio.gather(agent.run("a"), agent.run("b"))
    assert [r.output for r in results] == ["answer: [value]\n'done'"] * 2
    assert asyncio.get_running_loop().time() - t0 < 0.55
