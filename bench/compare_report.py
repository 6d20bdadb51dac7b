"""bench/compare.py's report: the Markdown table (compare.md) and the
grouped-bar chart (compare.png) of every peer's results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from compare_common import CALLS, ROWS, TITLES


def fmt(value: float, unit: str) -> str:
    if unit == "x":
        return f"{value:.2f}x"
    digits = 2 if value < 10 else 1 if value < 100 else 0
    return f"{value:.{digits}f} {unit}"


def render(results: dict[str, dict[str, Any]], meta: dict[str, Any]) -> str:
    """The Markdown report: the table (a cell is the median, its ratio to
    the row's best peer, bold for the best; a missing value says why),
    footnotes, then what each cell ran."""
    peers = list(results)
    head = "| metric | " + " | ".join(TITLES[p] for p in peers) + " |"
    rule = "|---|" + "---|" * len(peers)
    versions = ", ".join(f"{TITLES[p]} {peer_version(results[p], meta, p)}"
                         + (" (pinned, not measured)" if results[p].get("failed") else "")
                         for p in peers)
    lines = [f"# cloche beside eryx and Monty ({meta['when']})", "",
             f"{meta['machine']}. Load average (1, 5, 15 min) at start "
             f"{meta['load_start']}, at end {meta['load_end']}: the machine is "
             "shared with other builds, so single numbers are noisy.", "",
             f"{versions}; native CPython {meta['native_version']} built from "
             f"the guest's source. {meta['mode']}", "",
             f"Medians, lower is better; (×N) is the ratio to the best peer on the "
             f"row. {meta['rounds']} round(s): each peer measured "
             f"{meta['rounds']} time(s), peers alternating; each cell is the "
             "median round.",
             "", head, rule]
    notes: list[str] = []
    hows: list[str] = []
    native = meta.get("native_kernels", {})
    for key, label, unit in ROWS:
        cells = {p: row_cell(results[p], key) for p in peers}
        vals = [c["value"] for c in cells.values() if "value" in c]
        best = min(vals) if vals else 0.0
        if key[2:] in native:
            label += f" (native {native[key[2:]] * 1e3:.1f} ms)"
        row, how = [label], [label]
        for p in peers:
            c = cells[p]
            how.append(c.get("how") or "")
            if "value" not in c:
                row.append("—" if c["na"] == "—" else f"— ({c['na']})")
                continue
            text = fmt(c["value"], unit)
            if len(vals) > 1:
                ratio = c["value"] / best if best else 1.0
                text = f"**{text}**" if ratio <= 1.0 + 1e-9 else text
                text += f" (×{ratio:.2f})"
            if c.get("extra"):
                text += f" · {c['extra']}"
            if c.get("note"):
                notes.append(f"{TITLES[p]}, {ROW_LABEL[key]}: {c['note']}")
                text += f" [{len(notes)}]"
            row.append(text)
        lines.append("| " + " | ".join(row) + " |")
        if any(how[1:]):
            hows.append("| " + " | ".join(how) + " |")
    if notes:
        lines += ["", "Notes:", ""] + [f"{i}. {n}" for i, n in enumerate(notes, 1)]
    failed = [f"- {TITLES[p]}: {results[p]['failed']}" for p in peers
              if results[p].get("failed")]
    failed += [f"- {TITLES[p]}: only {results[p]['rounds']} of {meta['rounds']} "
               f"rounds ran (see build/compare/{p}-*.log)" for p in peers
               if results[p].get("rounds", meta["rounds"]) < meta["rounds"]]
    if failed:
        lines += ["", "Peers not (fully) measured:", ""] + failed
    lines += ["", "## What each cell ran", "",
              "Each peer's fastest documented path, in its own process, one peer "
              "after the other, with the same scripts (eryx returns no value "
              "of a trailing expression: its scripts end in `result = …` "
              "instead). A \"fresh sandbox\" sample starts after "
              f"{meta['gap_ms']:.0f} ms idle (time for a pool to refill). Tool "
              f"round trips: a guest loop of {CALLS} calls minus the same empty "
              "loop, per call. Kernels: each kernel of bench/kernels.py as its own "
              "script, timed inside the guest with `time.perf_counter` (median "
              "of its repeats); native CPython runs the same scripts, alternating "
              "with the guest's runs, and the native column is the median of those. "
              "Memory: /proc/<pid>/smaps_rollup Private_* before and after "
              "holding the sessions. Snapshots: the agent session of bench.c.",
              "", head, rule] + hows
    return "\n".join(lines) + "\n"


ROW_LABEL = {key: label for key, label, _ in ROWS}


def peer_version(res: dict[str, Any], meta: dict[str, Any], peer: str) -> str:
    return str(res.get("info", {}).get("version") or meta["pins"].get(peer, "?"))


def row_cell(res: dict[str, Any], key: str) -> dict[str, Any]:
    if res.get("failed"):
        why = res["failed"]
        return {"na": "not installed" if why.startswith("not installed")
                else "its process failed"}
    cell: dict[str, Any] = res["rows"].get(key, {"na": "not measured"})
    return cell


def chart(results: dict[str, dict[str, Any]], path: Path, meta: dict[str, Any]) -> str:
    """Grouped bars, one group per row: each peer's ratio to the best peer
    (log scale, 1 = best); a missing bar is marked n/a."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import Patch
    except ImportError as e:
        return f"no chart: {e}"
    peers = list(results)
    colors = {"cloche": "#2a7ab0", "eryx": "#e0892b", "monty": "#6a9f3a"}
    fig, ax = plt.subplots(figsize=(15, 6.5))
    width = 0.8 / len(peers)
    for j, (key, _, _) in enumerate(ROWS):
        cells = [row_cell(results[p], key) for p in peers]
        vals = [c["value"] for c in cells if "value" in c]
        for i, (p, c) in enumerate(zip(peers, cells)):
            x = j + (i - (len(peers) - 1) / 2) * width
            if "value" in c:
                ax.bar(x, c["value"] / min(vals), width, color=colors[p])
            else:
                ax.text(x, 1.05, "n/a", rotation=90, ha="center", va="bottom",
                        fontsize=7, color=colors[p])
    ax.set_yscale("log")
    ax.set_ylim(bottom=0.8)
    ax.axhline(1.0, color="black", linewidth=0.6)
    ax.set_xticks(range(len(ROWS)))
    ax.set_xticklabels([label.replace("`", "") for _, label, _ in ROWS],
                       rotation=40, ha="right", fontsize=8)
    ax.set_ylabel("ratio to the best peer (1 = best; lower is better; log)")
    ax.set_title(f"cloche, eryx, Monty: medians of one run, {meta['when']} "
                 f"(load average {meta['load_start']})")
    ax.legend(handles=[Patch(color=colors[p], label=TITLES[p] + (
        " (not measured)" if results[p].get("failed") else "")) for p in peers])
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return f"chart: {path}"
