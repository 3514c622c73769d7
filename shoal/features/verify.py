"""Skew check on real data: request mode against the offline engine, row by row.

For each sampled row of the main table, a fresh in-memory online store receives every earlier
row that shares one of the row's window keys (and the dimension rows of its join keys); the
row's request-mode features must then equal its offline features. Any difference is reported
with the row, the feature and both values.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import duckdb

from shoal.features.errors import FeatureSqlError
from shoal.features.featureset import DEFAULT_CAP, FeatureSet
from shoal.features.offline import (
    ORDER_KEY,
    SEQ,
    Source,
    connect,
    error_text,
    offline_sql,
    prepare,
    quote,
    time_score,
)
from shoal.features.online import MemoryStore
from shoal.features.progress import Progress
from shoal.features.query import MAIN, FeatureQuery


@dataclass(frozen=True)
class Mismatch:
    seq: int  # the row's arrival number (0-based position in the main table)
    feature: str
    offline: Any
    online: Any


@dataclass
class VerifyReport:
    rows_in_table: int
    checked: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


def same_value(a: Any, b: Any) -> bool:
    """Equal, with floats to 1e-9 (the engines may sum in different orders) and NaN == NaN."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, bool) or isinstance(b, bool):
            return a == b
        fa, fb = float(a), float(b)
        if math.isnan(fa) or math.isnan(fb):
            return math.isnan(fa) and math.isnan(fb)
        return math.isclose(fa, fb, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def verify(
    query: FeatureQuery,
    sources: Mapping[str, Source],
    *,
    sample: int = 100,
    seed: int = 0,
    cap: int = DEFAULT_CAP,
    progress: Progress | None = None,
) -> VerifyReport:
    """Check up to `sample` random rows (by `seed`); `progress(done, total)` counts rows checked."""
    con = connect()
    try:
        rel, order = prepare(con, query, sources)
        main_rel = rel[query.main]
        total = con.execute(f"SELECT count(*) FROM {main_rel}").fetchone()[0]
        report = VerifyReport(rows_in_table=total)
        if total == 0:
            return report
        picks = sorted(random.Random(seed).sample(range(total), min(sample, total)))
        if progress:
            progress(0, len(picks))
        # The offline value of every sampled row, computed over the whole table.
        con.execute(
            "CREATE TEMP TABLE __offline AS SELECT * FROM "
            f"({offline_sql(query, rel, keep_order=False, with_seq=True, order=order)}) "
            f"WHERE {SEQ} IN ({', '.join(map(str, picks))})"
        )
        cur = con.execute(f"SELECT * FROM __offline ORDER BY {SEQ}")
        names = [d[0] for d in cur.description]
        offline_rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        main_cols = query.main_columns
        t = quote(query.time_column)  # type: ignore[arg-type]
        score = time_score(query.schemas[MAIN].kind(query.time_column), t)  # type: ignore[arg-type]
        keyed = f"(SELECT *, {order.sql(score)} AS {ORDER_KEY} FROM {main_rel})"
        key_sets = {w.partition_by for w in query.windows.values()}
        cols = ", ".join(quote(c) for c in main_cols)
        for off in offline_rows:
            seq = off.pop(SEQ)
            me = con.execute(f"SELECT {cols}, {ORDER_KEY} FROM {keyed} WHERE {SEQ} = ?", [seq]).fetchone()
            row = dict(zip(main_cols, me[:-1], strict=True))
            fs = FeatureSet(query, MemoryStore(), cap=cap)
            if key_sets:
                match = " OR ".join(
                    "(" + " AND ".join(f"{quote(k)} IS NOT DISTINCT FROM ?" for k in keys) + ")" for keys in key_sets
                )
                args = [row[k] for keys in key_sets for k in keys]
                earlier = con.execute(
                    f"SELECT {cols} FROM {keyed} WHERE ({match}) AND {ORDER_KEY} < ? ORDER BY {ORDER_KEY}",
                    [*args, me[-1]],
                ).fetchall()
                fs.insert_many(dict(zip(main_cols, r, strict=True)) for r in earlier)
            for j in query.joins:
                jcols = query.join_columns(j.alias)
                match = " AND ".join(f"{quote(d)} = ?" for _, d in j.on)
                dims = con.execute(
                    f"SELECT {', '.join(quote(c) for c in jcols)} FROM {rel[j.table]} WHERE {match} "
                    f"AND {quote(j.order_by)} IS NOT NULL ORDER BY {SEQ}",
                    [row[m] for m, _ in j.on],
                ).fetchall()
                fs.insert_many((dict(zip(jcols, d, strict=True)) for d in dims), table=j.table)
            online = fs.compute(row)
            for name, value in off.items():
                if not same_value(value, online[name]):
                    report.mismatches.append(Mismatch(seq, name, value, online[name]))
            report.checked += 1
            if progress:
                progress(report.checked, len(picks))
        return report
    except duckdb.Error as e:  # e.g. a table file without the columns the feature set reads
        raise FeatureSqlError(f"cannot verify: {error_text(e)}") from None
    finally:
        con.close()
