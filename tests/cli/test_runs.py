"""`shoal runs list|logs|stop`: filters, bad options, attempts, several runs at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shoal.cli._common import console


def _apply(cli, tmp_path: Path, name: str, project: str | None = None) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / f"{name}.yaml"
    f.write_text(f"name: {name}\ntasks: [{{name: x, type: shell, command: 'true'}}]\n")
    extra = ["--project", project] if project else []
    assert cli("workflow", "apply", str(f), *extra).exit_code == 0


def test_runs_list_shows_project_and_version_and_filters_by_project(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _apply(cli, tmp_path, "a")
    _apply(cli, tmp_path, "a", project="teamb")  # the same name in another project
    assert cli("run", "a", "--project", "teamb", "--wait").exit_code == 0
    (tmp_path / "a.yaml").write_text("name: a\ntasks: [{name: x, type: shell, command: 'echo v2'}]\n")
    assert cli("workflow", "apply", str(tmp_path / "a.yaml")).exit_code == 0  # default/a is now v2
    assert cli("run", "a", "--wait").exit_code == 0

    rows = json.loads(cli("runs", "list", "--json").output)
    assert [(r["project"], r["workflow"], r["version"]) for r in rows] == [("default", "a", 2), ("teamb", "a", 1)]
    # The project filter applies before the limit: the newest teamb run, not nothing.
    rows = json.loads(cli("runs", "list", "--project", "teamb", "--limit", "1", "--json").output)
    assert [(r["project"], r["version"]) for r in rows] == [("teamb", 1)]
    assert json.loads(cli("runs", "list", "--project", "nobody", "--json").output) == []

    monkeypatch.setattr(console, "_width", 200)  # a wide terminal: no cell is cut short
    r = cli("runs", "list", "--project", "teamb")
    assert r.exit_code == 0
    lines = [line for line in r.output.splitlines() if line.startswith(("┃", "│"))]
    header, row = ([cell.strip() for cell in line[1:-1].split(line[0])] for line in lines)
    shown = dict(zip(header, row, strict=True))
    assert {k: shown[k] for k in ("run", "project", "workflow", "version", "state")} == {
        "run": "1", "project": "teamb", "workflow": "a", "version": "1", "state": "success",
    }


def test_runs_list_rejects_a_bad_limit_or_state(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _apply(cli, tmp_path, "a")
    assert cli("run", "a", "--wait").exit_code == 0
    for bad in ("0", "-1"):
        r = cli("runs", "list", "--limit", bad)
        assert r.exit_code == 2 and "--limit" in r.output, r.output
    r = cli("runs", "list", "--state", "bogus")
    assert r.exit_code == 2
    flat = " ".join(r.output.split())
    assert "bogus" in flat and "success" in flat and "stopped" in flat
    assert len(json.loads(cli("runs", "list", "--state", "success", "--json").output)) == 1


def test_runs_logs_of_an_attempt_that_does_not_exist_exits_2(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _apply(cli, tmp_path, "a")
    assert cli("run", "a", "--wait").exit_code == 0
    run_id = str(json.loads(cli("runs", "list", "--json").output)[0]["id"])
    r = cli("runs", "logs", run_id, "x", "--attempt", "7")
    assert r.exit_code == 2
    assert "no attempt 7" in r.output and "its only attempt is 1" in r.output
    r = cli("runs", "logs", run_id, "--attempt", "7")
    assert r.exit_code == 2 and "no task of run" in r.output
    assert cli("runs", "logs", run_id, "x", "--attempt", "0").exit_code == 2
    r = cli("runs", "logs", run_id, "x", "--attempt", "1")
    assert r.exit_code == 0 and "x · attempt 1" in r.output


def test_runs_stop_takes_several_runs(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _apply(cli, tmp_path, "a")
    assert cli("run", "a", "--wait").exit_code == 0
    assert cli("run", "a").exit_code == 0 and cli("run", "a").exit_code == 0  # two queued runs
    done, first, second = sorted(r["id"] for r in json.loads(cli("runs", "list", "--json").output))

    # One of them already ended: nothing is stopped, and the error names it.
    r = cli("runs", "stop", str(first), str(done))
    assert r.exit_code == 2 and f"run {done} already ended" in r.output
    assert json.loads(cli("runs", "show", str(first), "--json").output)["state"] == "queued"

    r = cli("runs", "stop", str(first), str(second))
    assert r.exit_code == 0 and f"stopped run(s) {first}, {second}" in r.output
    states = {r["id"]: r["state"] for r in json.loads(cli("runs", "list", "--json").output)}
    assert states == {done: "success", first: "stopped", second: "stopped"}


def test_runs_list_in_80_columns_keeps_run_workflow_and_state_whole(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "talkingdata_training_daily"
    _apply(cli, tmp_path, name, project="fraud_detection")
    for _ in range(12):  # a two-digit run id
        assert cli("run", name, "--project", "fraud_detection", "--date", "2026-03-01T02:00").exit_code == 0
    assert cli("runs", "wait", "12", "--project", "fraud_detection").exit_code == 0
    monkeypatch.setattr(console, "_width", 80)
    r = cli("runs", "list", "--limit", "1")
    assert r.exit_code == 0
    lines = r.output.splitlines()
    assert all(len(line) <= 80 for line in lines) and "…" not in r.output, r.output
    first_row = next(line for line in lines if line.startswith("│"))
    cells = [cell.strip() for cell in first_row[1:-1].split("│")]
    assert (cells[0], cells[2], cells[4]) == ("12", name, "success"), r.output
    # The folded columns are all there, a piece per line: the logical date folds at its spaces.
    column = [[c.strip() for c in line[1:-1].split("│")][6] for line in lines if line.startswith("│")]
    assert "".join(column) in ("2026-03-0102:00:00+00:00",), column
