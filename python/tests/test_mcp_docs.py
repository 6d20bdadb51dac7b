"""The python blocks of docs/mcp.md and docs/integrations.md, run as
written (each in its own interpreter)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mcp")

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "docs" / "mcp.md", ROOT / "docs" / "integrations.md"]
BLOCKS = [(doc.name, i, code) for doc in DOCS if doc.exists()
          for i, code in enumerate(re.findall(r"```python\n(.*?)```", doc.read_text(), re.S))]


@pytest.mark.parametrize("doc,index,code", BLOCKS, ids=[f"{d}-{i}" for d, i, _ in BLOCKS])
def test_doc_block(doc: str, index: int, code: str, tmp_path: Path) -> None:
    script = tmp_path / "block.py"
    script.write_text(code)
    p = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                       timeout=300, cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
