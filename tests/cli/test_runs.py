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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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
    assert (cells[0], cells[1], cells[2], cells[3]) == ("12", "fraud_detection", name, "success"), r.output
    # The logical date folds at its spaces, never inside the date: a piece per line.
    column = [[c.strip() for c in line[1:-1].split("│")][4] for line in lines if line.startswith("│")]
    assert column == ["2026-03-01", "02:00:00", "+00:00"], column


def test_runs_show_says_why_a_task_was_not_retried(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The note next to the error: what `--json` has, the human output shows too."""
    (tmp_path / "end.yaml").write_text(
        "name: end\ntasks:\n"
        "  - {name: fast, type: shell, command: 'exit 1'}\n"
        "  - {name: slow, type: shell, command: 'sleep 1; exit 2', retries: 3, retry_delay: 0s}\n"
        "  - {name: after, type: shell, command: 'true', upstream: [fast]}\n"
    )
    assert cli("workflow", "apply", str(tmp_path / "end.yaml")).exit_code == 0
    assert cli("run", "end", "--wait").exit_code == 1
    shown = {t["task"]: t for t in json.loads(cli("runs", "show", "1", "--json").output)["tasks"]}
    assert "failure_strategy is end" in shown["slow"]["note"] and shown["slow"]["error"]
    monkeypatch.setattr(console, "_width", 200)
    out = " ".join(cli("runs", "show", "1").output.replace("│", " ").split())
    assert shown["slow"]["note"] in out and shown["slow"]["error"] in out, out


def test_runs_pause_and_resume_a_running_run(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from shoal.config import Settings
    from shoal.store import open_store
    from tests.engine.stepping import Stepper

    store = open_store(Settings(home=tmp_path / "home"))
    stepper = Stepper(store, tmp_path)
    try:
        name = stepper.apply("name: pausable\ntasks:\n"
                             "  - {name: a, type: python, script: \"outputs = {}\"}\n"
                             "  - {name: b, type: python, script: \"outputs = {}\", upstream: [a]}\n")
        stepper.executor.hold = True
        run_id = stepper.trigger(name)
        stepper.step_until(lambda: stepper.states(run_id)["a"] == "running", "a starting")

        r = cli("runs", "resume", str(run_id))
        assert r.exit_code == 2 and f"run {run_id} is running, not paused" in r.output
        r = cli("runs", "pause", str(run_id))
        assert r.exit_code == 0 and f"paused run(s) {run_id}" in r.output
        stepper.executor.hold = False
        stepper.step(5)  # a ends and is recorded; b does not start
        shown = json.loads(cli("runs", "show", str(run_id), "--json").output)
        assert shown["state"] == "paused" and {t["task"]: t["state"] for t in shown["tasks"]}["b"] == "queued"

        r = cli("runs", "resume", str(run_id))
        assert r.exit_code == 0 and f"resumed run(s) {run_id}" in r.output
        assert stepper.finish(run_id).state == "success"
        r = cli("runs", "pause", str(run_id))
        assert r.exit_code == 2 and "is success, not running" in r.output
    finally:
        stepper.close()
        store.close()
