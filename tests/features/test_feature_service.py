"""`shoal.services.features`: access checks, the counts and progress of long jobs, and CLI modules
that load no feature engine until a command runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shoal.errors import Forbidden
from shoal.features import catalog
from shoal.services import features as feature_service
from shoal.services.names import Actor, Role
from shoal.store import Store
from tests.features.conftest import TALKINGDATA_SQL

VIEWER = Actor("vera", {"default": Role.VIEWER})
CLICK = {"ip": 7, "app": 2, "device": 1, "os": 3, "channel": 9, "click_time": "2017-11-08 23:59:58"}


@pytest.fixture
def deployed(store: Store, talkingdata_csv: Path) -> Store:
    """The talkingdata table imported and feature set td deployed (nothing online yet)."""
    feature_service.import_table(store, "talkingdata", path=talkingdata_csv)
    feature_service.deploy(store, "td", TALKINGDATA_SQL.read_text())
    return store


class Recorder:
    """A progress callback that keeps every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int | None]] = []

    def __call__(self, done: int, total: int | None) -> None:
        self.calls.append((done, total))

    def check_ends_at(self, total: int) -> None:
        done = [d for d, _ in self.calls]
        assert self.calls[0] == (0, total) and self.calls[-1] == (total, total), self.calls
        assert done == sorted(done), "progress went backwards"


def test_online_import_counts_rows_read_and_rows_stored_apart(deployed: Store) -> None:
    """The table's 3,000 rows are read once and stored once per index that keeps them (one per
    PARTITION BY), so the rows stored are not the rows imported."""
    progress = Recorder()
    r = feature_service.online_import(deployed, "td", progress=progress)
    assert (r.rows_read, r.tables) == (3000, {"talkingdata": 3000})
    assert set(r.indexes) == {"main:ip", "main:ip,app", "main:ip,app,os"}
    assert r.rows_stored == sum(r.indexes.values()) == r.rows
    assert all(0 < n <= 3000 for n in r.indexes.values()) and r.rows_stored > r.rows_read
    progress.check_ends_at(r.rows_stored)
    # Importing again replaces: the same counts, the same store.
    again = feature_service.online_import(deployed, "td")
    assert (again.rows_read, again.indexes, again.keys, again.rows) == (r.rows_read, r.indexes, r.keys, r.rows)
    listed = feature_service.list_feature_sets(deployed)
    assert [(f.name, f.keys, f.rows) for f in listed] == [("td", r.keys, r.rows)]
    assert feature_service.show_feature_set(deployed, "td").online == {"keys": r.keys, "rows": r.rows}


def test_verify_and_extract_report_progress(deployed: Store, tmp_path: Path) -> None:
    checks = Recorder()
    result = feature_service.verify(deployed, "td", sample=25, progress=checks)
    assert result.ok and result.checked == 25 and result.rows_in_table == 3000
    checks.check_ends_at(25)
    percent = Recorder()
    out = feature_service.extract(deployed, TALKINGDATA_SQL.read_text(), tmp_path / "s.parquet", progress=percent)
    assert out.rows == 3000
    percent.check_ends_at(100)
    assert all(total == 100 for _, total in percent.calls)


def test_compute_reads_the_snapshot_and_gives_what_the_server_store_gives(deployed: Store) -> None:
    feature_service.online_import(deployed, "td")
    feature_service.insert(deployed, "td", [{**CLICK, "click_time": "2017-11-08 23:30:00"}])
    requests = [CLICK, {**CLICK, "ip": 123_456_789}, {**CLICK, "app": 1}]
    got = feature_service.compute(deployed, "td", requests)
    online = catalog.open_online_store(deployed.settings)  # a full load, as `shoal serve` keeps
    _, fs = catalog.open_feature_set(deployed, online, "td")
    assert got == fs.compute_batch(requests)
    assert got[0]["ip_clicks_1h"] >= 2 and got[1]["ip_clicks_1d"] == 1  # the inserted row counts; a new ip


def test_a_viewer_reads_but_cannot_change_feature_sets(deployed: Store, talkingdata_csv: Path) -> None:
    assert [t.name for t in feature_service.list_tables(deployed, actor=VIEWER)] == ["talkingdata"]
    assert feature_service.compute(deployed, "td", [CLICK], actor=VIEWER)[0]["ip_clicks_1h"] == 1
    for change in (
        lambda: feature_service.import_table(deployed, "t2", path=talkingdata_csv, actor=VIEWER),
        lambda: feature_service.deploy(deployed, "td2", TALKINGDATA_SQL.read_text(), actor=VIEWER),
        lambda: feature_service.online_import(deployed, "td", actor=VIEWER),
        lambda: feature_service.insert(deployed, "td", [CLICK], actor=VIEWER),
    ):
        with pytest.raises(Forbidden, match="editor role"):
            change()
    assert [f.rows for f in feature_service.list_feature_sets(deployed)] == [0]
    assert [t.name for t in feature_service.list_tables(deployed)] == ["talkingdata"]


def test_the_command_modules_load_no_engine_until_a_command_runs() -> None:
    """typer imports every command module for `shoal --help`: these must stay cheap."""
    heavy = ("duckdb", "sqlglot", "pyarrow", "numpy", "pandas", "sklearn", "xgboost", "sqlalchemy",
             "shoal.features", "shoal.registry", "shoal.store", "shoal.services.features", "shoal.services.models")
    script = (f"import sys, shoal.cli.features, shoal.cli.model; "
              f"print(sorted(m for m in {heavy!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.replace("'", '"')) == []


def test_the_cli_cap_default_is_the_engine_s() -> None:
    from shoal.cli import features as features_cli

    assert features_cli.DEFAULT_CAP == catalog.DEFAULT_CAP
