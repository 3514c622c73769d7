"""The `cli` fixture: `cli(*args)` runs `shoal` in-process against a fresh SQLite home."""

from __future__ import annotations

from pathlib import Path

import pytest

from shoal.config import Settings
from tests.conftest import cli_runner

ROOT = Path(__file__).parents[2]
HELLO = ROOT / "examples" / "hello_ml.yaml"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    return cli_runner(monkeypatch, Settings(home=tmp_path / "home"), ROOT)
