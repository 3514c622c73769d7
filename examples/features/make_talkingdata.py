"""Write a synthetic TalkingData ad-click sample (the real data is a Kaggle download).

Same columns as the competition's train.csv: ip, app, device, os, channel, click_time,
is_attributed. A few ips click a lot (as bots do) and rarely install, so the per-ip window
features carry signal. Deterministic: the same seed gives the same file.

    python examples/features/make_talkingdata.py out.csv --rows 20000
"""

from __future__ import annotations

import argparse

import duckdb


def make(path: str, rows: int = 20_000, seed: float = 0.42, days: int = 2) -> None:
    con = duckdb.connect()
    con.execute(f"SELECT setseed({seed})")
    seconds = days * 86_400
    con.execute(f"""
        COPY (
          SELECT ip, app, device, os, channel, click_time,
                 -- people (most ips) install now and then; the few heavy clicking ips almost never do
                 CASE WHEN ip < 20 THEN (random() < 0.002)::INTEGER ELSE (random() < 0.08)::INTEGER END
                   AS is_attributed
          FROM (
            SELECT CASE WHEN random() < 0.3 THEN (floor(random() * 20))::INTEGER
                        ELSE (100 + floor(random() * 3000))::INTEGER END AS ip,
                   (floor(pow(random(), 2) * 30))::INTEGER AS app,
                   (floor(random() * 5))::INTEGER AS device,
                   (floor(pow(random(), 2) * 20))::INTEGER AS os,
                   (floor(random() * 50))::INTEGER AS channel,
                   TIMESTAMP '2017-11-07 00:00:00' + to_seconds((i * {seconds} // {rows})::BIGINT) AS click_time
            FROM range({rows}) r(i)
          )
          ORDER BY click_time
        ) TO '{path}' (HEADER, DELIMITER ',')
    """)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("output")
    ap.add_argument("--rows", type=int, default=20_000)
    args = ap.parse_args()
    make(args.output, args.rows)
