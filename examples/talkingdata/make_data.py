"""Write synthetic TalkingData ad clicks (the real data is a Kaggle download we cannot fetch).

Same columns as the competition's train.csv: ip, app, device, os, channel, click_time,
is_attributed. Like the real data, installs are rare (about 0.5 % of clicks) and learnable:

- a hundred bot ips make about a third of all clicks, in bursts, and never install;
- a few popular apps (3–8) and the first 20 channels install far more often;
- device 1 and daytime clicks (09–15 h) install a little more often.

So the per-ip windows of the feature SQL (a busy ip in the last hour is a bot) and the raw ids
both carry signal. Deterministic: the same seed and row count give the same file.

    python examples/talkingdata/make_data.py clicks.csv --rows 200000
"""

from __future__ import annotations

import argparse

import duckdb

START = "2017-11-06 00:00:00"  # the competition's first day


def make(path: str, rows: int = 200_000, seed: float = 0.42, days: int = 3) -> None:
    con = duckdb.connect()
    con.execute(f"SELECT setseed({seed})")
    seconds = days * 86_400
    con.execute(f"""
        COPY (
          WITH clicks AS (
            SELECT bot,
                   CASE WHEN bot THEN 5000 + (floor(pow(random(), 1.5) * 100))::INTEGER
                        ELSE 10000 + (floor(random() * 110000))::INTEGER END AS ip,
                   (floor(pow(random(), 2.5) * 700))::INTEGER AS app,
                   CASE WHEN random() < 0.9 THEN 1 ELSE (floor(random() * 4000))::INTEGER END AS device,
                   (floor(pow(random(), 2) * 900))::INTEGER AS os,
                   (floor(pow(random(), 1.5) * 500))::INTEGER AS channel,
                   -- bots click in bursts: their clicks crowd into the first minutes of each hour
                   TIMESTAMP '{START}' + to_seconds(
                     CASE WHEN bot THEN ((i * {seconds} // {rows}) // 3600) * 3600 + floor(random() * 600)
                          ELSE i * {seconds} // {rows} END::BIGINT) AS click_time,
                   random() AS u
            FROM (SELECT i, random() < 0.3 AS bot FROM range({rows}) r(i))
          )
          SELECT ip, app, device, os, channel, click_time,
                 (NOT bot AND u < 1 / (1 + exp(-(
                     -7.6
                     + CASE WHEN app BETWEEN 3 AND 8 THEN 3.2 ELSE 0 END
                     + CASE WHEN channel < 20 THEN 2.2 ELSE 0 END
                     + CASE WHEN device = 1 THEN 0.6 ELSE -0.6 END
                     + CASE WHEN hour(click_time) BETWEEN 9 AND 15 THEN 0.9 ELSE 0 END
                 ))))::INTEGER AS is_attributed
          FROM clicks
          ORDER BY click_time, ip
        ) TO '{path}' (HEADER, DELIMITER ',')
    """)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("output")
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--seed", type=float, default=0.42)
    args = ap.parse_args()
    make(args.output, args.rows, args.seed)
    print(f"wrote {args.rows} clicks to {args.output}")
