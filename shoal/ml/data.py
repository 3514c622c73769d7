"""Samples: load them (file, DuckDB SQL, any SQLAlchemy database) and split them.

Samples are pandas DataFrames: every trainer, the preprocessing pipeline and the metrics take them,
and they are small enough to hold in memory on the machines that train single-process models.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import duckdb
import numpy as np
import pandas as pd

from shoal.ml.errors import MLError

SPLIT_NAMES = ("train", "validation", "test")
_FILE_READERS = {".parquet": "read_parquet", ".csv": "read_csv_auto"}


def load_samples(*, path: str | None = None, sql: str | None = None, url: str | None = None) -> pd.DataFrame:
    """Load samples from exactly one source.

    - `path`: a `.parquet` or `.csv` file, read with DuckDB;
    - `sql` alone: a DuckDB query (it may read files itself with `read_parquet(...)`);
    - `url` + `sql`: a query against any SQLAlchemy database (PostgreSQL, MySQL, SQLite, ...).
    """
    if path is not None and (sql is not None or url is not None):
        raise MLError("give either path=... or sql=... (with an optional url=...), not both")
    if path is not None:
        return _load_file(path)
    if sql is None:
        raise MLError("no sample source: give path=<file.parquet|file.csv>, sql=<DuckDB query>, or url= with sql=")
    if url is None:
        return _load_duckdb(sql)
    return _load_sqlalchemy(url, sql)


def _load_file(path: str) -> pd.DataFrame:
    suffix = Path(path).suffix.lower()
    reader = _FILE_READERS.get(suffix)
    if reader is None:
        raise MLError(f"unsupported sample file {path!r}: use a .parquet or .csv file, or sql=...", path=path)
    if not os.path.exists(path):
        raise MLError(f"sample file {path!r} does not exist; check the path (relative paths are from the cwd)",
                      path=path)
    with duckdb.connect() as con:
        try:
            return con.execute(f"SELECT * FROM {reader}(?)", [path]).df()
        except duckdb.Error as exc:
            raise MLError(f"cannot read sample file {path!r}: {exc}", path=path) from exc


def _load_duckdb(sql: str) -> pd.DataFrame:
    with duckdb.connect() as con:
        try:
            return con.sql(sql).df()
        except (duckdb.Error, AttributeError) as exc:  # AttributeError: statement returned no result set
            raise MLError(f"sample query failed in DuckDB: {exc}", sql=sql) from exc


def _load_sqlalchemy(url: str, sql: str) -> pd.DataFrame:
    import sqlalchemy  # imported here: only this source needs it

    try:
        engine = sqlalchemy.create_engine(url)
    except (sqlalchemy.exc.SQLAlchemyError, ImportError, ValueError) as exc:
        raise MLError(f"bad database url: {exc}") from exc
    try:
        with engine.connect() as conn:
            return pd.read_sql(sqlalchemy.text(sql), conn)
    except (sqlalchemy.exc.SQLAlchemyError, pd.errors.DatabaseError) as exc:
        raise MLError(f"sample query failed: {exc}", sql=sql) from exc
    finally:
        engine.dispose()


def split(
    df: pd.DataFrame,
    *,
    method: Literal["random", "time"] = "random",
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    time_column: str | None = None,
    seed: int = 42,
) -> dict[str, pd.DataFrame]:
    """Split samples into "train", "validation" and "test" frames (a 0 fraction gives an empty frame).

    "random" shuffles with `seed`; "time" sorts by `time_column` (stable, so ties keep their order)
    and cuts in order: train is the earliest rows, test the latest, which is what an offline
    evaluation of a model that will serve the future needs.
    """
    if len(fractions) != 3:
        raise MLError(f"fractions must be 3 numbers (train, validation, test), got {fractions!r}")
    if any(f < 0 for f in fractions):
        raise MLError(f"fractions must not be negative, got {fractions!r}")
    if abs(sum(fractions) - 1.0) > 1e-9:
        raise MLError(f"fractions must sum to 1, got {fractions!r} (sum {sum(fractions):g}); e.g. (0.8, 0.1, 0.1)")
    if method == "random":
        order = np.random.default_rng(seed).permutation(len(df))
        ordered = df.iloc[order]
    elif method == "time":
        if time_column is None:
            raise MLError("split method 'time' needs time_column=<column to sort by>")
        if time_column not in df.columns:
            raise MLError(f"time_column {time_column!r} is not a column of the samples; columns: {list(df.columns)}",
                          column=time_column)
        ordered = df.sort_values(time_column, kind="stable")
    else:
        raise MLError(f"unknown split method {method!r}: use 'random' or 'time'")
    n = len(df)
    cut1 = round(n * fractions[0])
    cut2 = min(n, round(n * (fractions[0] + fractions[1])))
    bounds = {"train": (0, cut1), "validation": (cut1, cut2), "test": (cut2, n)}
    if fractions[2] == 0:  # rounding must not leave a row in a split the user asked to be empty
        bounds["validation"] = (cut1, n)
    return {name: ordered.iloc[lo:hi].reset_index(drop=True) for name, (lo, hi) in bounds.items()}


def write_frame(frame: pd.DataFrame, path: str | os.PathLike[str]) -> str:
    """Write `frame` to a Parquet file through a temporary name, so a reader never sees half a file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return str(target)


def write_split(splits: Mapping[str, pd.DataFrame], directory: str | os.PathLike[str]) -> dict[str, str]:
    """Write each split to `<directory>/<name>.parquet` and return name -> path."""
    return {name: write_frame(frame, Path(directory) / f"{name}.parquet") for name, frame in splits.items()}
