"""What `shoal` says about itself: bare `shoal`, --version, help without types on flags, the
environment variables and examples, and parameter errors in plain words."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from shoal import __version__
from shoal.cli._help import ENVIRONMENT
from shoal.cli._options import DEFAULT_PROJECT
from shoal.config import Settings
from tests.cli.conftest import ROOT, SHOAL


def test_bare_shoal_prints_help_and_exits_0(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli()
    assert r.exit_code == 0, r.output
    assert "Usage:" in r.output and "workflow" in r.output and "runs" in r.output


def test_version_option_and_command(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("--version").output.strip() == __version__
    assert cli("version").output.strip() == __version__


def test_flags_and_counts_show_no_type(cli) -> None:  # type: ignore[no-untyped-def]
    root = cli("--help").output
    assert "--verbose" in root and "<int>" not in root and "<bool>" not in root
    for command in (("runs", "list"), ("run",), ("backfill",), ("workflow", "delete"), ("runs", "rerun")):
        out = cli(*command, "--help").output
        assert "--help" in out and "<bool>" not in out, (command, out)
    assert "<int" in cli("runs", "list", "--help").output  # an option that takes a value keeps its type


def test_root_help_lists_every_setting_and_examples(cli) -> None:  # type: ignore[no-untyped-def]
    out = cli("--help").output
    settings = {f"SHOAL_{name.upper()}" for name in Settings.model_fields}
    assert set(ENVIRONMENT) == settings  # a new setting needs a line in the help
    assert all(name in out for name in settings), out
    assert "Examples:" in out and "shoal run hello_ml" in out


@pytest.mark.parametrize("command", [("run",), ("backfill",), ("runs", "list"), ("runs", "logs"),
                                     ("workflow", "apply"), ("workflow", "export")])
def test_main_commands_show_an_example(cli, command: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    out = " ".join(cli(*command, "--help").output.split())
    assert f"Example: shoal {' '.join(command)} " in out, out


@pytest.mark.parametrize(("args", "said"), [
    (("runs", "show", "abc"), "Invalid value for 'run_id': 'abc' is not a whole number"),
    (("runs", "list", "--limit", "ten"), "Invalid value for '--limit': 'ten' is not a whole number"),
    (("backfill", "w", "--start", "2026-01-01", "--end", "2026-01-02", "--parallel", "1.5"),
     "Invalid value for '--parallel': '1.5' is not a whole number"),
])
def test_a_bad_value_is_said_plainly_naming_the_parameter(cli, args: tuple[str, ...], said: str) -> None:  # type: ignore[no-untyped-def]
    r = cli(*args)
    flat = " ".join(r.output.replace("│", " ").split())
    assert r.exit_code == 2 and said in flat, r.output
    assert "Input should be" not in flat and "unable to parse" not in flat


def test_the_cli_default_project_is_the_specs() -> None:
    from shoal.spec.models import DEFAULT_PROJECT as SPEC_DEFAULT

    assert DEFAULT_PROJECT == SPEC_DEFAULT


def test_every_state_has_a_colour() -> None:
    from shoal.cli._common import state_styles
    from shoal.services import RunState, TaskRunState

    assert set(state_styles()) == {str(s) for s in (*RunState, *TaskRunState)}


def test_building_the_cli_loads_no_database_or_engine() -> None:
    """`shoal --help` answers at once: only a command that runs loads SQLAlchemy and the engine."""
    code = (
        "import json, sys, shoal.cli.main; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('sqlalchemy', 'shoal.engine', "
        "'shoal.store', 'shoal.spec.models', 'shoal.config')))))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True)
    assert json.loads(out.stdout) == []


def test_the_console_script_prints_help_without_arguments() -> None:
    r = subprocess.run([sys.executable, "-m", SHOAL], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "Usage:" in r.stdout, r.stderr


def test_shoal_version_converts_nothing_with_pydantic() -> None:
    """Flags and counts come from click converted; building a pydantic adapter for them would
    double the time of `shoal version`."""
    code = (
        "import json, sys; sys.argv = ['shoal', '-v', 'version']\n"
        "from shoal.cli.entry import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'sqlalchemy'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True)
    version, modules = out.stdout.splitlines()
    assert version == __version__ and json.loads(modules) == []
