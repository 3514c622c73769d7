"""`shoal features ...` as the README tour types it, and its errors (exit 2, nothing changed)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from shoal.config import Settings
from tests.conftest import cli_runner
from tests.features.conftest import TALKINGDATA_SQL

CLICK = {"ip": 7, "app": 2, "device": 1, "os": 3, "channel": 9, "click_time": "2017-11-08 23:59:58"}


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    return cli_runner(monkeypatch, Settings(home=tmp_path / "home"), tmp_path)


def test_tour_extract_deploy_import_compute_matches_offline_row(cli, talkingdata_csv: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = cli("features", "import", "talkingdata", str(talkingdata_csv))
    assert r.exit_code == 0 and "3000 rows" in r.output, r.output
    samples = tmp_path / "samples.parquet"
    r = cli("features", "extract", str(TALKINGDATA_SQL), "-o", str(samples), "--keep-order", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["rows"] == 3000
    r = cli("features", "deploy", "td", str(TALKINGDATA_SQL))
    assert "version 1 deployed" in r.output
    assert "unchanged (version 1)" in cli("features", "deploy", "td", str(TALKINGDATA_SQL)).output
    r = cli("features", "online-import", "td", "--json")
    assert r.exit_code == 0 and json.loads(r.output)["rows"] > 0, r.output

    # The last offline sample's click, asked again online, gives the same numbers: the online
    # store holds every earlier row, and the request row is the current one.
    con = duckdb.connect()
    last_click = con.execute(
        f"SELECT * FROM read_csv('{talkingdata_csv}') ORDER BY click_time DESC LIMIT 1"
    ).fetchone()
    cols = [d[0] for d in con.execute(f"SELECT * FROM read_csv('{talkingdata_csv}') LIMIT 0").description]
    row = dict(zip(cols, last_click, strict=True))
    offline = con.execute(f"SELECT * FROM read_parquet('{samples}')").fetchall()[-1]
    names = [d[0] for d in con.execute(f"SELECT * FROM read_parquet('{samples}') LIMIT 0").description]
    row["click_time"] = row["click_time"].isoformat(sep=" ")
    # The online store already holds this very click (it was imported), so ask for the features of
    # an identical click arriving one second later with windows that then include both.
    r = cli("features", "compute", "td", "--row", json.dumps(row))
    assert r.exit_code == 0, r.output
    online = json.loads(r.output)
    off = dict(zip(names, offline, strict=True))
    assert online["ip_clicks_1d"] == off["ip_clicks_1d"] + 1
    assert online["hour_of_click"] == off["hour_of_click"]

    r = cli("features", "verify", "td", "--sample", "40", "--json")
    assert r.exit_code == 0, r.output
    report = json.loads(r.output)
    assert report["ok"] and report["checked"] == 40


def test_insert_then_compute_sees_the_live_row(cli, talkingdata_csv: Path) -> None:  # type: ignore[no-untyped-def]
    cli("features", "import", "talkingdata", str(talkingdata_csv))
    cli("features", "deploy", "td", str(TALKINGDATA_SQL))
    new_ip = {**CLICK, "ip": 999_999}
    before = json.loads(cli("features", "compute", "td", "--row", json.dumps(new_ip)).output)
    assert before["ip_clicks_1h"] == 1  # only the request row itself
    r = cli("features", "insert", "td", "--row", json.dumps({**new_ip, "click_time": "2017-11-08 23:30:00"}))
    assert r.exit_code == 0, r.output
    after = json.loads(cli("features", "compute", "td", "--row", json.dumps(new_ip)).output)
    assert after["ip_clicks_1h"] == 2 and after["ip_clicks_1d"] == 2
    listed = json.loads(cli("features", "list", "--json").output)
    assert listed[0]["name"] == "td" and listed[0]["rows"] == 3  # one row in each of 3 window keys


def test_bad_requests_exit_2_name_the_field_and_store_nothing(cli, talkingdata_csv: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("features", "import", "talkingdata", str(talkingdata_csv))
    cli("features", "deploy", "td", str(TALKINGDATA_SQL))
    missing_key = {k: v for k, v in CLICK.items() if k != "ip"}
    r = cli("features", "compute", "td", "--row", json.dumps(missing_key))
    assert r.exit_code == 2 and "the row has no ip" in r.output
    r = cli("features", "compute", "td", "--row", json.dumps({**CLICK, "app": "two"}))
    assert r.exit_code == 2 and "app: expected an integer" in r.output
    r = cli("features", "compute", "td", "--row", json.dumps({**CLICK, "click_time": "yesterday"}))
    assert r.exit_code == 2 and "click_time: expected a timestamp" in r.output
    r = cli("features", "compute", "td", "--row", "{not json")
    assert r.exit_code == 2 and "--row is not JSON" in r.output
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps(CLICK) + "\n" + json.dumps({**CLICK, "os": None, "ip": None}) + "\n"
                    + json.dumps({**CLICK, "channel": 1.5}) + "\n")
    r = cli("features", "insert", "td", "--file", str(rows))
    assert r.exit_code == 2 and "channel: expected an integer" in r.output
    assert json.loads(cli("features", "list", "--json").output)[0]["rows"] == 0
    bad_sql = tmp_path / "bad.sql"
    bad_sql.write_text("SELECT ip,\n  count(*) OVER w AS n\nFROM talkingdata\nWINDOW w AS (PARTITION BY ip)")
    r = cli("features", "deploy", "bad", str(bad_sql))
    assert r.exit_code == 2 and "line 4" in r.output and "needs ORDER BY" in r.output
    assert "bad" not in cli("features", "list").output
    r = cli("features", "compute", "nope", "--row", json.dumps(CLICK))
    assert r.exit_code == 2 and "no feature set nope" in r.output
    r = cli("features", "extract", str(TALKINGDATA_SQL), "-o", "x.parquet", "--table", "talkingdata")
    assert r.exit_code == 2 and "NAME=FILE" in r.output
