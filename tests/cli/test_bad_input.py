"""Exit 2 means nothing changed: bad settings, unusable dates and missing names are refused
before anything is written, with one line saying what is wrong (never a traceback)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.cli.conftest import assert_nothing_stored, run_shoal

WF = ("name: w\nschedule: {cron: '0 23 * * *', timezone: America/New_York}\n"
      "tasks: [{name: a, type: shell, command: 'true'}]\n")


def _runs(cli) -> list[dict]:  # type: ignore[no-untyped-def]
    r = cli("runs", "list", "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


@pytest.fixture
def applied(cli, tmp_path: Path):  # type: ignore[no-untyped-def]
    f = tmp_path / "w.yaml"
    f.write_text(WF)
    assert cli("workflow", "apply", str(f)).exit_code == 0
    return cli


@pytest.mark.parametrize(("variable", "value", "said"), [
    ("SHOAL_CPU", "abc", "SHOAL_CPU='abc': expected a number"),
    ("SHOAL_CPU", "0", "SHOAL_CPU='0': expected a number more than 0"),
    ("SHOAL_MEMORY", "-5", "SHOAL_MEMORY='-5': invalid memory"),
    ("SHOAL_MEMORY", "0", "SHOAL_MEMORY='0': must be more than 0 bytes"),
    ("SHOAL_LEASE_SECONDS", "abc", "SHOAL_LEASE_SECONDS='abc'"),
    ("SHOAL_GPU", "two", "SHOAL_GPU='two'"),
    ("SHOAL_ONLINE_STORE", "mongodb://x", "use memory or a redis:// URL"),
    ("SHOAL_MAX_CATCHUP", "0", "SHOAL_MAX_CATCHUP='0'"),
])
def test_a_bad_setting_is_refused_before_a_run_is_created(
    applied, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, said: str
) -> None:
    monkeypatch.setenv(variable, value)
    r = applied("run", "w", "--wait")
    assert r.exit_code == 2, r.output
    assert said in r.output and "Traceback" not in r.output
    monkeypatch.delenv(variable)
    assert _runs(applied) == []


@pytest.mark.parametrize("args", [
    ["run", "w", "--date", "9999-12-31"],
    ["run", "w", "--date", "0001-01-01"],
    ["run", "w", "--date", "9999-12-31T23:00"],
    ["backfill", "w", "--start", "0001-01-01", "--end", "0001-01-03"],
    ["backfill", "w", "--start", "9998-12-30", "--end", "9999-12-31"],
])
def test_an_unusable_logical_date_is_refused_at_the_door(applied, args: list[str]) -> None:
    r = applied(*args)
    assert r.exit_code == 2, r.output
    assert "out of range" in r.output and "1000-01-01 to 9998-12-31" in r.output
    assert _runs(applied) == []


@pytest.mark.slow
def test_init_says_when_shoal_home_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    r = run_shoal(blocker / "home", "init")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "cannot create" in r.stderr and "SHOAL_HOME" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow
def test_shoal_home_is_private_to_its_owner(tmp_path: Path) -> None:
    home = tmp_path / "home"
    wf = tmp_path / "w.yaml"
    wf.write_text("name: w\ntasks: [{name: a, type: shell, command: 'echo hello'}]\n")
    assert run_shoal(home, "workflow", "apply", str(wf)).returncode == 0
    assert run_shoal(home, "run", "w", "--wait").returncode == 0
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    files = [p for p in home.rglob("*") if p.is_file()]
    assert any(p.name == "shoal.db" for p in files) and any(p.suffix == ".log" for p in files), files
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, f"{path} is {oct(path.stat().st_mode)}"


def test_deleting_a_workflow_that_does_not_exist_says_so_without_asking(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("init").exit_code == 0
    r = cli("workflow", "delete", "nope")
    assert r.exit_code == 2, r.output
    assert "not found" in r.output and "Aborted" not in r.output


def test_deleting_without_a_terminal_needs_yes(applied) -> None:  # type: ignore[no-untyped-def]
    r = applied("workflow", "delete", "w")
    assert r.exit_code == 2 and "--yes" in r.output, r.output
    assert applied("workflow", "show", "w").exit_code == 0



@pytest.mark.slow
def test_a_run_is_addressed_within_its_project(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "p1.yaml"
    f.write_text("name: w\nproject: p1\ntasks: [{name: a, type: shell, command: 'true'}]\n")
    assert cli("workflow", "apply", str(f)).exit_code == 0
    assert cli("run", "w", "--project", "p1").exit_code == 0  # queued, not driven
    for args in (["runs", "stop", "1"], ["runs", "show", "1"], ["runs", "recover", "1"], ["runs", "logs", "1"]):
        r = cli(*args)
        assert r.exit_code == 2 and "not found in project 'default'" in r.output, (args, r.output)
    assert _runs(cli)[0]["state"] == "queued"
    r = cli("runs", "stop", "1", "--project", "p1")
    assert r.exit_code == 0, r.output
    assert _runs(cli)[0]["state"] == "stopped"


@pytest.mark.parametrize("reached", [{"workflow": "child", "project": "${p}"}, {"workflow": "${p}", "project": "p1"}])
@pytest.mark.parametrize("kind", ["sub_workflow", "dependent"])
def test_another_projects_workflow_is_named_as_written(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path, kind: str, reached: dict[str, str]
) -> None:
    f = tmp_path / "sub.json"
    task = {"name": "s", "type": kind, **reached}
    f.write_text(json.dumps({"name": "parent", "project": "p2", "params": {"p": "p1"}, "tasks": [task]}))
    r = cli("workflow", "apply", str(f))
    assert r.exit_code == 2 and "cannot choose" in r.output, r.output


@pytest.mark.parametrize("schedule", [
    "start: '0001-01-01', catchup: true",
    "start: '9999-12-31'",
    "start: '0001-01-01T00:00', timezone: America/New_York",
])
def test_a_schedule_that_starts_at_an_unusable_date_is_refused(cli, tmp_path: Path, schedule: str) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "s.yaml"
    f.write_text(f"name: s\nschedule: {{cron: '0 * * * *', {schedule}}}\n"
                 "tasks: [{name: a, type: shell, command: 'true'}]\n")
    r = cli("workflow", "apply", str(f))
    assert r.exit_code == 2 and "out of range" in r.output and "Traceback" not in r.output, r.output
    assert_nothing_stored(cli)


def test_a_schedule_may_end_far_in_the_future(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "s.yaml"
    f.write_text("name: s\nschedule: {cron: '0 * * * *', timezone: America/New_York, end: '9999-12-31'}\n"
                 "tasks: [{name: a, type: shell, command: 'true'}]\n")
    assert cli("workflow", "apply", str(f)).exit_code == 0
