"""Shared fixtures for the package tests (pytest + pytest-asyncio, auto mode)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import cloche

ROOT = Path(__file__).resolve().parents[2]


def pytest_report_header() -> str:
    return f"cloche {cloche.__version__} from {Path(cloche.__file__).parent}"


@pytest.fixture
def sb() -> Iterator[cloche.Sandbox]:
    with cloche.Sandbox(timeout=20) as s:
        yield s


@pytest.fixture
def cloche_bin() -> str:
    """The `cloche` command installed with the package."""
    exe = Path(sys.executable).parent / "cloche"
    return str(exe) if exe.exists() else os.environ.get("CLOCHE_BIN", "cloche")
