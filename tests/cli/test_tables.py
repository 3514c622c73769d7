"""Tables in an 80-column terminal keep names and dates whole: a column that does not fit
leaves (the caption says which), rather than folding `defau│lt` or `2026-1│2-07`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shoal.cli._common import console
from shoal.cli.main import app

PROJECT, NAME = "fraud_detection", "talkingdata_training_daily"
WF = f"""\
name: {NAME}
project: {PROJECT}
description: trains the ad-fraud model on yesterday's clicks and releases it when its auc is good
schedule: {{cron: "0 2 * * *", timezone: Asia/Shanghai}}
tasks: [{{name: x, type: shell, command: 'true'}}]
"""


@pytest.fixture
def narrow(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """`shoal ARGS` with COLUMNS=80 (the cli fixture's home), after applying and running two workflows."""
    (tmp_path / "wf.yaml").write_text(WF)
    (tmp_path / "hello.yaml").write_text("name: hello\ntasks: [{name: x, type: shell, command: 'true'}]\n")
    for f in ("wf.yaml", "hello.yaml"):
        assert cli("workflow", "apply", str(tmp_path / f)).exit_code == 0
    assert cli("run", NAME, "--project", PROJECT, "--date", "2026-12-07", "--wait").exit_code == 0
    assert cli("run", "hello", "--date", "2026-12-07T06:00", "--wait").exit_code == 0
    monkeypatch.setattr(console, "_width", None)  # the width comes from COLUMNS, as in a terminal
    runner = CliRunner()

    def invoke(*args: str) -> str:
        r = runner.invoke(app, list(args), env={"COLUMNS": "80"}, catch_exceptions=False)
        assert r.exit_code == 0, r.output
        assert all(len(line) <= 80 for line in r.output.splitlines()), r.output
        return r.output

    return invoke


def _cells(output: str) -> list[list[str]]:
    return [[c.strip() for c in re.split("[│┃]", line)[1:-1]] for line in output.splitlines() if line[:1] in "│┃"]


def test_runs_list(narrow) -> None:  # type: ignore[no-untyped-def]
    out = narrow("runs", "list")
    header, *rows = _cells(out)
    assert header == ["run", "project", "workflow", "state", "logical date"]
    assert [r[:4] for r in rows if r[0]] == [["2", "default", "hello", "success"],
                                              ["1", PROJECT, NAME, "success"]]
    dates = [r[4] for r in rows]
    assert dates.count("2026-12-07") == 2 and "06:00:00" in dates and "+08:00" in dates, out
    assert "…" not in out and "hidden at this width: version, trigger, created, ended" in " ".join(out.split())


def test_workflow_list(narrow) -> None:  # type: ignore[no-untyped-def]
    out = narrow("workflow", "list")
    header, *rows = _cells(out)
    assert header[:2] == ["project", "name"] and "last run" in header
    assert [r[:2] for r in rows] == [["default", "hello"], [PROJECT, NAME]]
    assert "…" not in out


def test_schedule_list(narrow) -> None:  # type: ignore[no-untyped-def]
    out = narrow("schedule", "list")
    header, *rows = _cells(out)
    assert rows == [[PROJECT, NAME, "0 2 * * *", "active"]] and header[0] == "project"


def test_wide_terminals_show_every_column(narrow) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    r = runner.invoke(app, ["runs", "list"], env={"COLUMNS": "200"}, catch_exceptions=False)
    header = _cells(r.output)[0]
    assert header == ["run", "project", "workflow", "version", "state", "trigger", "logical date", "created", "ended"]
    assert "hidden" not in r.output


def test_a_table_whose_narrowest_form_just_fits_keeps_its_right_edge(monkeypatch: pytest.MonkeyPatch) -> None:
    """`model versions` of the demo: the words fit 80 columns exactly only with every folding
    column at its narrowest, which rich's own shrinking misses (it cut the last column off)."""
    from types import SimpleNamespace

    from shoal.cli._common import Column, plain, print_rows

    columns = (
        Column("version", lambda v: v.version, whole=True),
        Column("aliases", lambda v: plain(v.aliases), whole=True),
        Column("flavor", lambda v: plain(v.flavor)),
        Column("feature set", lambda v: plain(v.feature_set)),
        Column("metrics", lambda v: plain(v.metrics)),
        Column("created", lambda v: v.created, min_width=10),
    )
    row = SimpleNamespace(version="1", aliases="production", flavor="xgboost", feature_set="talkingdata v1",
                          metrics="auc=0.8845, logloss=0.01645, f1=0", created="2026-12-07 14:45:56")
    monkeypatch.setattr(console, "_width", 80)
    with console.capture() as captured:
        print_rows([row], columns, json_out=False)
    lines = captured.get().splitlines()
    assert all(len(line) <= 80 and line.rstrip()[-1] in "┓┃┩│┘" for line in lines), "\n".join(lines)
    cells = " ".join(" ".join(c) for c in _cells(captured.get()))
    for word in ("production", "talkingdata", "logloss=0.01645,", "2026-12-07", "14:45:56"):
        assert word in cells.split(), (word, captured.get())
