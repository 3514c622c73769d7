"""Fixtures for the service layer: a store (SQLite, and PostgreSQL under -m integration) and
workflow files written from YAML text."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """write(name, yaml) -> the path of `name`.yaml holding the dedented YAML."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / f"{name}.yaml"
        path.write_text(textwrap.dedent(text))
        return path

    return _write
