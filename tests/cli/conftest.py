"""The `cli` fixture: `cli(*args)` runs `shoal` in-process against a fresh SQLite home; and
`start_shoal`/`run_shoal` run it as a real process (for signals, logging, several processes)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shoal.config import Settings
from tests.conftest import cli_runner

ROOT = Path(__file__).parents[2]
HELLO = ROOT / "examples" / "hello_ml.yaml"
SHOAL = "shoal.cli.entry"  # what the `shoal` console script calls


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    return cli_runner(monkeypatch, Settings(home=tmp_path / "home"), ROOT)


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOAL_")}
    env["SHOAL_HOME"] = str(home)
    return env


def start_shoal(home: Path, *args: str) -> subprocess.Popen[str]:
    """`shoal ARGS` on the embedded store under `home`, running; stdout and stderr in one pipe."""
    return subprocess.Popen([sys.executable, "-m", SHOAL, *args], cwd=ROOT, env=_env(home), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def run_shoal(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`shoal ARGS` on the embedded store under `home`, to its end."""
    return subprocess.run([sys.executable, "-m", SHOAL, *args], cwd=ROOT, env=_env(home),
                          capture_output=True, text=True, timeout=120)


def assert_nothing_stored(cli) -> None:  # type: ignore[no-untyped-def]
    """A refused command changed nothing: in a fresh home, not even a database was created."""
    r = cli("workflow", "list", "--json")
    assert r.exit_code == 2 and "no shoal database" in r.output, r.output
