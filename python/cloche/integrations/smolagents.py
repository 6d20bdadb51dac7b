"""smolagents: a ``CodeAgent`` executor that runs the model's code in a
cloche sandbox (``pip install 'cloche[smolagents]'``).

>>> from smolagents import CodeAgent
>>> from cloche.integrations.smolagents import ClocheExecutor
>>> agent = CodeAgent(tools=[...], model=model, executor=ClocheExecutor(timeout=10))

It implements smolagents' executor interface (``PythonExecutor``:
``send_tools``, ``send_variables``, ``__call__`` returning ``CodeOutput``,
plus ``cleanup``):

* The agent's tools (and managed agents) become host tools: the model's
  code calls ``web_search(query="...")`` inside the sandbox and the call
  runs the smolagents tool on the host. Results that are not JSON cross as
  their ``str()``.
* ``final_answer(x)`` ends the step: the answer goes to the host (through
  the agent's own ``final_answer`` tool, so its checks run) and the code
  stops there.
* One sandbox per executor: variables persist between steps, as with
  smolagents' local executor. Every keyword is a :class:`cloche.Sandbox`
  option (``timeout``, ``memory``, ``network``, ``mcp_servers``...).
* Code that raises or trips a limit raises ``InterpreterError`` with the
  output so far and the traceback, which the agent shows the model.
"""

from __future__ import annotations

import json
from typing import Any

from smolagents.local_python_executor import CodeOutput, InterpreterError, PythonExecutor
from smolagents.tools import Tool as SmolTool

from .. import _errors
from .._reply import cut_text
from .._result import Result
from .._sandbox import Sandbox
from .._tools import Tool

__all__ = ["ClocheExecutor"]

_FINAL = "_cloche_final_answer"

# Run once per sandbox: final_answer() hands the answer to the host and
# stops the code with an exception user code does not catch by accident.
_PRELUDE = f"""
class FinalAnswerException(BaseException):
    pass

def final_answer(answer):
    try:
        {_FINAL}(answer=answer)
    except TypeError:  # not JSON: its repr stands for it
        {_FINAL}(answer=repr(answer))
    raise FinalAnswerException()
"""

_JSON_TYPES = {"string", "integer", "number", "boolean", "array", "object", "null"}


def _schema(tool: SmolTool) -> dict[str, Any]:
    """A JSON schema from smolagents' ``inputs`` ({name: {type, description,
    nullable}}); "any", "image" and "audio" are left unchecked."""
    props: dict[str, Any] = {}
    required = []
    for name, spec in tool.inputs.items():
        prop: dict[str, Any] = {"description": spec.get("description", "")}
        kind = spec.get("type")
        kinds = kind if isinstance(kind, list) else [kind]
        if kinds and all(k in _JSON_TYPES for k in kinds):
            prop["type"] = kind
        props[name] = prop
        if not spec.get("nullable"):
            required.append(name)
    return {"type": "object", "properties": props, "required": required,
            "additionalProperties": False}


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return str(value)


class ClocheExecutor(PythonExecutor):  # type: ignore[misc]
    """A smolagents executor backed by a cloche sandbox (see the module
    docstring). ``max_print_outputs_length`` caps the logs handed back to
    the model per step (head and tail kept around a marker)."""

    def __init__(self, *, max_print_outputs_length: int = 50_000, **sandbox_options: Any) -> None:
        self.max_print_outputs_length = max_print_outputs_length
        self._final: list[Any] = []
        self.sandbox = Sandbox(**sandbox_options)
        self.sandbox.add_tool(Tool(self._record_final, name=_FINAL,
                                   description="final_answer's hand-off to the host",
                                   schema={"type": "object", "properties": {"answer": {}},
                                           "required": ["answer"]}))
        self._final_tool: SmolTool | None = None
        self._install_prelude()

    def _install_prelude(self) -> None:
        self.sandbox.run_sync(_PRELUDE, check=True)

    def _record_final(self, **kwargs: Any) -> None:
        answer = kwargs.get("answer")
        if self._final_tool is not None:
            answer = self._final_tool(answer)
        self._final.append(answer)

    # --- PythonExecutor ---------------------------------------------------------

    def send_tools(self, tools: dict[str, Any]) -> None:
        """Register the agent's tools (and managed agents) as host tools."""
        for name, tool in tools.items():
            if name == "final_answer":
                self._final_tool = tool
                continue
            self.sandbox.add_tool(self._host_tool(name, tool))
        self._install_prelude()

    def _host_tool(self, name: str, tool: Any) -> Tool[Any]:
        def call(**kwargs: Any) -> Any:
            return _jsonable(tool(**kwargs))

        return Tool(call, name=name, description=str(getattr(tool, "description", "")),
                    schema=_schema(tool))

    def send_variables(self, variables: dict[str, Any]) -> None:
        """Define the agent's variables in the sandbox (JSON-representable
        values as they are, others as their ``str()``)."""
        if not variables:
            return
        payload = json.dumps({k: _jsonable(v) for k, v in variables.items()
                              if isinstance(k, str) and k.isidentifier()})
        self.sandbox.run_sync(f"globals().update(__import__('json').loads({payload!r}))",
                              check=True)

    def __call__(self, code_action: str) -> CodeOutput:
        self._final.clear()
        try:
            r = self.sandbox.run_sync(code_action)
        except _errors.LimitExceeded as e:
            self._install_prelude()  # the interpreter may have been reset
            raise InterpreterError(self._failure(e.result, f"the code went past the "
                                                 f"{e.limit} limit ({e.detail}); the "
                                                 "sandbox's variables are gone")) from None
        except (_errors.Cancelled, _errors.Crashed) as e:
            self._install_prelude()
            raise InterpreterError(self._failure(e.result, str(e))) from None
        if r.exception is not None and r.exception.type == "FinalAnswerException" and self._final:
            return CodeOutput(output=self._final[-1], logs=self._logs(r), is_final_answer=True)
        if r.exception is not None:
            raise InterpreterError(self._failure(r, r.exception.traceback or
                                                 f"{r.exception.type}: {r.exception.message}"))
        return CodeOutput(output=r.value, logs=self._logs(r), is_final_answer=False)

    def _logs(self, r: Result) -> str:
        return cut_text(r.stdout + r.stderr, self.max_print_outputs_length, "the logs")

    def _failure(self, r: Result, what: str) -> str:
        logs = self._logs(r)
        text = f"Code execution failed: {what}"
        return (f"{text}\nOutput before the failure:\n{logs}" if logs else text)

    def cleanup(self) -> None:
        """Close the sandbox (CodeAgent.cleanup() calls this)."""
        self.sandbox.close()

    def reset(self) -> None:
        """A fresh interpreter (tools stay)."""
        self.sandbox.reset()
        self._install_prelude()
