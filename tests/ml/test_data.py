from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pytest

from shoal.ml.data import load_samples, split, write_split
from shoal.ml.errors import MLError


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({"t": [5, 3, 1, 4, 2, 0, 9, 8, 7, 6], "x": np.arange(10.0), "s": list("abcdefghij")})


def test_load_parquet_csv_and_duckdb_sql(tmp_path, frame):
    frame.to_parquet(tmp_path / "s.parquet")
    frame.to_csv(tmp_path / "s.csv", index=False)
    for path in (tmp_path / "s.parquet", tmp_path / "s.csv"):
        got = load_samples(path=str(path))
        assert list(got.columns) == ["t", "x", "s"] and len(got) == 10
        assert got["x"].tolist() == frame["x"].tolist()
    got = load_samples(sql=f"SELECT t, x FROM read_parquet('{tmp_path / 's.parquet'}') WHERE t >= 5")
    assert sorted(got["t"].tolist()) == [5, 6, 7, 8, 9]


def test_load_sqlalchemy_url(tmp_path):
    db = tmp_path / "s.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE samples (a INTEGER, b TEXT)")
        con.executemany("INSERT INTO samples VALUES (?, ?)", [(1, "x"), (2, "y")])
    con.close()
    got = load_samples(url=f"sqlite:///{db}", sql="SELECT a, b FROM samples ORDER BY a")
    assert got.to_dict("list") == {"a": [1, 2], "b": ["x", "y"]}
    with pytest.raises(MLError, match="sample query failed"):
        load_samples(url=f"sqlite:///{db}", sql="SELECT nope FROM samples")


def test_load_errors(tmp_path):
    with pytest.raises(MLError, match="does not exist"):
        load_samples(path=str(tmp_path / "missing.parquet"))
    with pytest.raises(MLError, match=r"\.parquet or \.csv"):
        load_samples(path=str(tmp_path / "s.json"))
    with pytest.raises(MLError, match="DuckDB"):
        load_samples(sql="SELECT * FROM no_such_table")
    with pytest.raises(MLError, match="not both"):
        load_samples(path="a.csv", sql="SELECT 1")
    with pytest.raises(MLError, match="no sample source"):
        load_samples()


def test_random_split_is_a_seeded_partition(frame):
    parts = split(frame, fractions=(0.6, 0.2, 0.2), seed=1)
    assert [len(parts[k]) for k in ("train", "validation", "test")] == [6, 2, 2]
    assert sorted(pd.concat(parts.values())["t"].tolist()) == list(range(10))
    again = split(frame, fractions=(0.6, 0.2, 0.2), seed=1)
    assert parts["train"].equals(again["train"])
    assert not parts["train"].equals(split(frame, fractions=(0.6, 0.2, 0.2), seed=2)["train"])


def test_time_split_cuts_in_time_order(frame):
    parts = split(frame, method="time", time_column="t", fractions=(0.5, 0.3, 0.2))
    assert parts["train"]["t"].tolist() == [0, 1, 2, 3, 4]
    assert parts["validation"]["t"].tolist() == [5, 6, 7]
    assert parts["test"]["t"].tolist() == [8, 9]


def test_zero_fraction_gives_empty_frame_with_columns(frame):
    parts = split(frame, fractions=(0.7, 0.3, 0.0))
    assert len(parts["test"]) == 0 and list(parts["test"].columns) == ["t", "x", "s"]
    assert len(parts["train"]) + len(parts["validation"]) == 10


@pytest.mark.parametrize("fractions, match", [((0.5, 0.3, 0.1), "sum to 1"), ((1.2, -0.1, -0.1), "negative")])
def test_bad_fractions(frame, fractions, match):
    with pytest.raises(MLError, match=match):
        split(frame, fractions=fractions)


def test_time_split_needs_an_existing_column(frame):
    with pytest.raises(MLError, match="'when'"):
        split(frame, method="time", time_column="when")
    with pytest.raises(MLError, match="time_column"):
        split(frame, method="time")


def test_write_split_writes_parquet_atomically(tmp_path, frame):
    paths = write_split(split(frame), tmp_path / "out")
    assert set(paths) == {"train", "validation", "test"}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["test.parquet", "train.parquet",
                                                                      "validation.parquet"]
    back = pd.read_parquet(paths["train"])
    assert len(back) == 8 and list(back.columns) == ["t", "x", "s"]


@pytest.mark.integration
def test_load_from_postgresql():
    """Samples straight from the production database (the real PostgreSQL, never skipped in CI)."""
    from sqlalchemy import create_engine, text

    from tests.conftest import drop_pg_schema, pg_schema_url, require_pg

    require_pg()
    schema, url = pg_schema_url()
    try:
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE clicks (uid bigint, amount double precision, city text, label int)"))
            conn.execute(text("INSERT INTO clicks VALUES (1, 2.5, 'a', 0), (2, NULL, 'b', 1), (3, 7.0, NULL, 1)"))
        engine.dispose()
        got = load_samples(url=url, sql="SELECT * FROM clicks ORDER BY uid")
        assert got["uid"].tolist() == [1, 2, 3] and got["label"].sum() == 2
        assert got["amount"].isna().tolist() == [False, True, False] and got["city"].tolist()[:2] == ["a", "b"]
        with pytest.raises(MLError, match="no_such"):
            load_samples(url=url, sql="SELECT * FROM no_such")
    finally:
        drop_pg_schema(schema)
