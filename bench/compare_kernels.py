"""The kernels of bench/kernels.py as one script each, run by a peer and
by native CPython 3.13 in turn (bench/compare.py's kernel rows)."""

from __future__ import annotations

import ast
import math
import statistics
import subprocess
import tempfile
from pathlib import Path
from typing import Callable

from compare_common import ROOT, Config, Recorder

KERNELS = ROOT / "bench" / "kernels.py"


def kernel_scripts(path: Path = KERNELS) -> tuple[dict[str, str], int]:
    """One script per kernel of bench/kernels.py: the module-level
    statements that kernel needs (an import per name, so a peer lacking one
    module loses only the kernels that use it) and a loop that prints the
    median of REPEAT timed calls, timed in the guest with perf_counter."""
    tree = ast.parse(path.read_text())
    repeat = 7
    kernels: dict[str, str] = {}
    nodes: list[ast.stmt] = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name == "REPEAT":
                repeat = ast.literal_eval(node.value)
                continue
            if name == "KERNELS" and isinstance(node.value, ast.Dict):
                kernels = {ast.literal_eval(k): v.id for k, v in
                           zip(node.value.keys, node.value.values)
                           if k is not None and isinstance(v, ast.Name)}
                continue
        if isinstance(node, ast.Import):
            nodes += [ast.Import(names=[a]) for a in node.names]
        elif isinstance(node, (ast.Assign, ast.FunctionDef)):
            nodes.append(node)

    def defines(n: ast.stmt) -> set[str]:
        if isinstance(n, ast.Import):
            return {(n.names[0].asname or n.names[0].name).split(".")[0]}
        if isinstance(n, ast.FunctionDef):
            return {n.name}
        assert isinstance(n, ast.Assign)
        return {t.id for t in n.targets if isinstance(t, ast.Name)}

    uses = [{x.id for x in ast.walk(n) if isinstance(x, ast.Name)} for n in nodes]
    scripts = {}
    for kname, fn in kernels.items():
        need, todo = set(), {fn}
        while todo:
            name = todo.pop()
            for n, u in zip(nodes, uses):
                if name in defines(n) and id(n) not in need:
                    need.add(id(n))
                    todo |= u
        body = "\n".join(ast.unparse(n) for n in nodes if id(n) in need)
        scripts[kname] = body + (
            "\nimport time\n"
            f"{fn}()\n"
            "_ts = []\n"
            f"for _ in range({repeat}):\n"
            "    _t0 = time.perf_counter()\n"
            f"    {fn}()\n"
            "    _ts.append(time.perf_counter() - _t0)\n"
            "_ts.sort()\n"
            "print(repr(_ts[len(_ts) // 2]))\n")
    return scripts, repeat


def native_once(python: str, script: str) -> float:
    """One run of a kernel script under native CPython 3.13, in seconds."""
    with tempfile.NamedTemporaryFile("w", suffix=".py") as f:
        f.write(script)
        f.flush()
        p = subprocess.run([python, "-I", f.name], capture_output=True,
                           text=True, check=True)
    return float(p.stdout.split()[-1])


def record_kernels(rec: Recorder, cfg: Config, run: Callable[[str], str],
                   native_python: str, skip_note: str = "") -> None:
    """Runs each kernel script through run(script) -> stdout and natively,
    alternating (guest, native, guest, ...) so that both see the same
    machine load; each is the median of cfg.kernel_runs runs."""
    guest, native, missing = {}, {}, []
    for name, script in kernel_scripts()[0].items():
        g, n = [], []
        try:
            for _ in range(cfg.kernel_runs):
                g.append(float(run(script).split()[-1]))
                n.append(native_once(native_python, script))
        except Exception as e:
            msg = str(e).strip().splitlines()
            why = msg[-1][:160] if msg else type(e).__name__
            rec.na("k_" + name, f"cannot run it: {why}{skip_note}")
            missing.append(name)
            n.append(native_once(native_python, script))
        else:
            guest[name] = statistics.median(g)
        native[name] = statistics.median(n)
    rec.info["native_kernels"] = native
    ratios = []
    for name, secs in guest.items():
        ratio = secs / native[name]
        ratios.append(ratio)
        rec.put("k_" + name, secs * 1e3, extra=f"{ratio:.2f}x native")
    if ratios:
        gm = math.exp(sum(map(math.log, ratios)) / len(ratios))
        note = "" if not missing else f"{len(ratios)} of {len(ratios) + len(missing)} kernels"
        rec.put("k_geomean", gm, note=note)
    else:
        rec.na("k_geomean", "no kernel ran")
