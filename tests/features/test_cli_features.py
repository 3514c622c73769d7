"""`shoal features ...` as the README tour types it, and its errors (exit 2, nothing changed)."""

from __future__ import annotations

import json
import os
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


@pytest.mark.slow
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
    r = cli("features", "versions", "td", "--json")
    assert [(v["version"], v["rows"] > 0) for v in json.loads(r.output)] == [(1, True)], r.output
    assert "no feature set nope" in cli("features", "versions", "nope").output

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


# -- bad input: exit 2, one clear line, nothing changed, never a traceback --------------------------------


def one_error(r, *words: str) -> str:  # type: ignore[no-untyped-def]
    """The command refused its input: exit 2 and one `error: ...` line holding `words`."""
    assert r.exit_code == 2, r.output
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.output
    for w in words:
        assert w in lines[0], f"{w!r} not in {lines[0]}"
    return lines[0]


@pytest.fixture
def td(cli, talkingdata_csv: Path):  # type: ignore[no-untyped-def]
    """The CLI with the talkingdata table imported and feature set td deployed (no online rows)."""
    assert cli("features", "import", "talkingdata", str(talkingdata_csv)).exit_code == 0
    assert cli("features", "deploy", "td", str(TALKINGDATA_SQL)).exit_code == 0
    return cli


def online_rows(cli) -> int:  # type: ignore[no-untyped-def]
    return sum(fs["rows"] for fs in json.loads(cli("features", "list", "--json").output))


def test_sql_files_that_cannot_be_read_exit_2_naming_the_file(cli, talkingdata_csv: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("features", "import", "talkingdata", str(talkingdata_csv))
    sql = TALKINGDATA_SQL.read_bytes()
    latin1 = tmp_path / "latin1.sql"
    latin1.write_bytes(b"-- caf\xe9\n" + sql)
    nul = tmp_path / "nul.sql"
    nul.write_bytes(sql.replace(b"hour(click_time)", b"hour(click_time\x00)"))
    out = tmp_path / "samples.parquet"
    for verb in ("extract", "deploy"):

        def run(path: Path | str, verb: str = verb):  # type: ignore[no-untyped-def]
            args = [str(path), "-o", str(out)] if verb == "extract" else ["td", str(path)]
            return cli("features", verb, *args)

        one_error(run(latin1), f"{latin1} is not UTF-8 text: byte 0xe9 at offset 6")
        one_error(run(nul), "line 5, col 18", "NUL character")
        one_error(run(tmp_path), f"{tmp_path} is a directory, not a feature SQL file")
        one_error(run("gone.sql"), "no such file: gone.sql")
    assert json.loads(cli("features", "list", "--json").output) == []
    assert not out.exists()
    # A UTF-8 file that starts with a byte order mark (as some editors save) is fine.
    bom = tmp_path / "bom.sql"
    bom.write_bytes(b"\xef\xbb\xbf" + sql)
    assert cli("features", "deploy", "td", str(bom)).exit_code == 0


def test_extract_to_a_path_that_cannot_be_written_exits_2_before_reading_any_table(  # type: ignore[no-untyped-def]
    cli, talkingdata_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli("features", "import", "talkingdata", str(talkingdata_csv))

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the tables were read before the output path was checked")

    monkeypatch.setattr("shoal.features.catalog.resolve_sources", never)
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    one_error(cli("features", "extract", str(TALKINGDATA_SQL), "-o", str(a_file / "x" / "out.parquet")),
              f"cannot write {a_file / 'x' / 'out.parquet'}: {a_file} is not a directory")
    one_error(cli("features", "extract", str(TALKINGDATA_SQL), "-o", str(tmp_path)), "it is a directory")
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        one_error(cli("features", "extract", str(TALKINGDATA_SQL), "-o", str(locked / "new" / "out.parquet")),
                  f"no permission to create files in {locked}")
    assert a_file.read_text() == "not a folder"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "home") == ["a_file", *(
        ["locked"] if os.geteuid() != 0 else [])]


def test_deeply_nested_request_rows_exit_2_naming_the_field(td, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    deep_list = "[" * 100_000 + "]" * 100_000
    deep_object = '{"a": ' * 100_000 + "1" + "}" * 100_000
    for field, value in (("x", deep_list), ("x", deep_object), ("ip", deep_list), ("os", "[[1]]")):
        row = json.dumps({**CLICK, field: 0})[:-1].replace(f'"{field}": 0', f'"{field}": {value}') + "}"
        for verb in ("compute", "insert"):
            one_error(td("features", verb, "td", "--row", row), f"{field}: row values must be scalars")
        rows = tmp_path / "rows.jsonl"
        rows.write_text(json.dumps(CLICK) + "\n" + row + "\n")
        one_error(td("features", "insert", "td", "--file", str(rows)), "row values must be scalars", field)
    assert online_rows(td) == 0


def test_a_row_that_is_not_an_object_is_refused_saying_so(td) -> None:  # type: ignore[no-untyped-def]
    for row in ("[1, 2]", "3", '"x"'):
        one_error(td("features", "compute", "td", "--row", row), "a row is a JSON object of column values")
    assert online_rows(td) == 0


def test_integers_beyond_bigint_are_refused_online_as_offline(td, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for ip in (2**70, 2**63, -(2**63) - 1, 1e20):
        for verb in ("compute", "insert"):
            one_error(td("features", verb, "td", "--row", json.dumps({**CLICK, "ip": ip})),
                      "ip: ", "is out of range for BIGINT")
    assert online_rows(td) == 0
    # Offline, no table can hold such a row: the same row in a file is refused there too.
    big = tmp_path / "big.csv"
    big.write_text("ip,app,device,os,channel,click_time,is_attributed\n"
                   f"{2**70},2,1,3,9,2017-11-08 23:59:58,0\n")
    one_error(td("features", "extract", str(TALKINGDATA_SQL), "-o", str(tmp_path / "s.parquet"),
                 "-t", f"talkingdata={big}"), "out of range")


def test_window_bounds_beyond_bigint_are_refused_before_anything_runs(  # type: ignore[no-untyped-def]
    cli, talkingdata_csv: Path, tmp_path: Path
) -> None:
    cli("features", "import", "talkingdata", str(talkingdata_csv))
    sql = TALKINGDATA_SQL.read_text()
    cases = {
        "ROWS BETWEEN 99999999999999999999 PRECEDING": ["ROWS BETWEEN 99999999999999999999 PRECEDING",
                                                        "limit of 9223372036854775807 rows"],
        "RANGE BETWEEN INTERVAL '99999999999' DAY PRECEDING": ["a range of 99999999999 DAY",
                                                               "9223372036854775807 microseconds"],
        "ROWS_RANGE BETWEEN 99999999999999999999 PRECEDING": ["99999999999999999999 MILLISECOND"],
    }
    for frame, words in cases.items():
        path = tmp_path / "huge.sql"
        path.write_text(sql.replace("ROWS_RANGE BETWEEN 1h PRECEDING", frame, 1))
        one_error(cli("features", "deploy", "huge", str(path)), "line 18", "window ip_1h", *words)
        one_error(cli("features", "extract", str(path), "-o", str(tmp_path / "s.parquet")), "line 18", *words)
    assert json.loads(cli("features", "list", "--json").output) == []
    assert not (tmp_path / "s.parquet").exists()


def test_csv_files_without_rows_are_not_imported(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    header = tmp_path / "header.csv"
    header.write_text("ip,app,click_time\n")
    assert cli("init").exit_code == 0  # (else the first import says it created the database)
    one_error(cli("features", "import", "clicks", str(empty)), f"{empty} is empty")
    one_error(cli("features", "import", "clicks", str(header)), f"{header} has no data rows")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(bytes(range(256)) * 20)
    one_error(cli("features", "import", "clicks", str(binary)), "cannot read the data to import into clicks")
    one_error(cli("features", "import", "clicks", str(tmp_path)), "not a .parquet or .csv file")
    one_error(cli("features", "import", "clicks", "--sql", "SELECT 1 AS a; SELECT 2 AS b"), "one SELECT statement")
    assert json.loads(cli("features", "tables", "--json").output) == []


def test_an_old_pickle_snapshot_is_refused_without_being_loaded(td, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import pickle

    marker = tmp_path / "pwned"

    class RunsCode:
        def __reduce__(self) -> tuple[object, ...]:
            return (os.mkdir, (str(marker),))

    online = tmp_path / "home" / "online"
    online.mkdir(parents=True, exist_ok=True)
    for name in ("memory.pkl", "memory.snapshot"):  # where earlier versions kept it, and the new name
        snapshot = online / name
        snapshot.write_bytes(pickle.dumps({"default/td/v1": RunsCode()}))
        for args in (("compute", "td", "--row", json.dumps(CLICK)), ("list",), ("online-import", "td")):
            one_error(td("features", *args), str(snapshot), "old pickle format",
                      "shoal features online-import")
        assert not marker.exists()
        snapshot.unlink()
    assert td("features", "online-import", "td").exit_code == 0
    assert online_rows(td) > 0


def test_other_bad_inputs_exit_2(td, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    binary = tmp_path / "rows.jsonl"
    binary.write_bytes(b'{"ip": "\xff"}\n')
    one_error(td("features", "insert", "td", "--file", str(binary)), f"{binary} is not UTF-8 text: byte 0xff")
    one_error(td("features", "insert", "td", "--file", str(tmp_path)), "is a directory")
    one_error(td("features", "insert", "td", "--file", str(tmp_path / "gone.jsonl")), "no such file")
    one_error(td("features", "compute", "td", "--row", '{"ip": ' + "9" * 5000 + "}"), "--row is not JSON")
    one_error(td("features", "compute", "td", "--row", json.dumps({**CLICK, "app": "x" * 100_000})),
              "app: expected an integer", "(100002 chars)")
    one_error(td("features", "deploy", "td2", str(TALKINGDATA_SQL), "--max-rows-per-key", str(10**20)),
              "between 1 and 2147483647")
    one_error(td("features", "show", "td", "--version", str(10**20)), "no feature set td v100000000000000000000")
    assert online_rows(td) == 0

    from typer.testing import CliRunner

    from shoal.cli.main import app

    r = CliRunner().invoke(app, ["features", "compute", "td", "--file", "-"], input=b"\xfe{}\n")
    one_error(r, "stdin is not UTF-8 text: byte 0xfe at offset 0")


def test_online_import_says_rows_read_and_rows_stored(td) -> None:  # type: ignore[no-untyped-def]
    """3,000 clicks read; each of the 3 window keys (PARTITION BYs) keeps its own copy of a row."""
    doc = json.loads(td("features", "online-import", "td", "--json").stdout)
    assert doc["rows_read"] == 3000 and doc["tables"] == {"talkingdata": 3000}
    assert doc["rows_stored"] == sum(doc["indexes"].values()) == doc["rows"] == online_rows(td)
    r = td("features", "online-import", "td")
    assert r.exit_code == 0, r.output
    assert (f"read 3000 rows of talkingdata; stored {doc['rows_stored']} rows in 3 indexes of default/td v1: "
            f"{doc['keys']} keys, {doc['rows']} rows online") in " ".join(r.output.split())
