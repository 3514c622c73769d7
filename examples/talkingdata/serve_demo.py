"""Start `shoal serve talkingdata`, send a few clicks to /predict, print the answers, stop it.

`make demo` runs this after the workflow released the model. Each request is a raw click, as
the ad server would send it; the model server computes the click's window features from the
online store (the same SQL the training samples came from), applies the saved preprocessing
and scores it with the released version.

    python examples/talkingdata/serve_demo.py [--port 8881]

If the port is taken (another server, an earlier demo), the demo serves on a free one instead.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import httpx
from rich.console import Console
from rich.table import Table

# Clicks just after the generated data ends (2017-11-09); click_time in epoch milliseconds.
T = 1_510_185_600_000  # 2017-11-09 00:00:00 UTC
CLICKS = [
    ("a bot ip, busy all day", {"ip": 5003, "app": 12, "device": 1, "os": 13, "channel": 245,
                                "click_time": T + 60_000}),
    ("a person, install-prone app", {"ip": 114904, "app": 3, "device": 1, "os": 15, "channel": 7,
                                     "click_time": T + 10 * 3_600_000}),
    ("a person, ordinary app", {"ip": 114904, "app": 11, "device": 1, "os": 15, "channel": 319,
                                "click_time": T + 10 * 3_600_000 + 5_000}),
]


def shoal_command() -> list[str]:
    exe = shutil.which("shoal", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    return [exe] if exe else [sys.executable, "-m", "shoal.cli.main"]


def usable_port(wanted: int) -> int:
    """`wanted` if nothing listens there, else a free port the kernel picks."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", wanted))
            return wanted
        except OSError:
            probe.bind(("127.0.0.1", 0))
            return int(probe.getsockname()[1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="talkingdata")
    ap.add_argument("--port", type=int, default=8881)
    args = ap.parse_args()
    console = Console()
    port = usable_port(args.port)
    if port != args.port:
        console.print(f"port {args.port} is in use: serving the demo on port {port} instead")
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([*shoal_command(), "serve", args.model, "--port", str(port)],
                              start_new_session=True)
    try:
        with httpx.Client(base_url=base, timeout=5) as client:
            deadline = time.monotonic() + 60
            while True:
                if server.poll() is not None:
                    console.print(f"[red]the model server exited with code {server.returncode}[/red]")
                    return 1
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    console.print("[red]the model server did not answer /health within 60 s[/red]")
                    return 1
                time.sleep(0.2)
            meta = client.get("/metadata").json()
            console.print(f"serving [bold]{meta['model']}[/bold] version {meta['version']} "
                          f"(feature set {meta['feature_set']} v{meta['feature_set_version']}, "
                          f"test AUC {meta['metrics'].get('auc')})")
            table = Table(title=f"POST {base}/predict")
            for c in ("click", "ip", "app", "channel", "click_time (UTC)", "score", "version", "ms"):
                table.add_column(c)
            for what, click in CLICKS:
                started = time.perf_counter()
                r = client.post("/predict", json=click)
                ms = (time.perf_counter() - started) * 1000
                r.raise_for_status()
                body = r.json()
                when = dt.datetime.fromtimestamp(click["click_time"] / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
                table.add_row(what, str(click["ip"]), str(click["app"]), str(click["channel"]), when,
                              f"{body['score']:.5f}", str(body["version"]), f"{ms:.1f}")
            console.print(table)
            console.print(f"one request body: {json.dumps(CLICKS[1][1])}")
            bad = client.post("/predict", json={k: v for k, v in CLICKS[0][1].items() if k != "ip"})
            console.print(f"a click without ip gets {bad.status_code}: {bad.json()['error']['message']}")
        home = os.environ.get("SHOAL_HOME")
        if home:  # commands typed next must use the demo's home, not the one found from the cwd
            console.print(f"the demo's home is {home}: `SHOAL_HOME={home} shoal serve {args.model}` serves it again")
        return 0
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
