"""The README's CLI tour against `shoal server` through SHOAL_API_URL gives the same results as
on the embedded database: each command runs as a real `shoal` process twice, once on a home of
its own and once against a server, and their exit codes, output and errors are compared after
normalising what legitimately differs (times, durations, process ids, where a command looked)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli.conftest import ROOT, SHOAL
from tests.conftest import wait_until
from tests.serving.conftest import free_port

pytestmark = pytest.mark.slow  # real processes: a server and two dozen commands, twice

BAD = "name: bad\ntasks:\n  - {name: a, type: shell, comand: 'echo a'}\n  - {name: b, type: shel, upstream: [zz]}\n"
# The tour, in order (run ids follow from it on both sides). Dates are given: "now" differs.
TOUR: list[tuple[str, ...]] = [
    ("workflow", "apply", "examples/hello_ml.yaml"),
    ("workflow", "apply", "examples/hello_ml.yaml", "--json"),  # unchanged: no new version
    ("schedule", "pause", "hello_ml"),  # no scheduled run may come between the runs the tour starts
    ("run", "hello_ml", "--wait", "--date", "2026-03-01"),
    ("runs", "list"),
    ("runs", "show", "1"),
    ("runs", "show", "1", "--json"),
    ("runs", "logs", "1", "extract"),
    ("runs", "logs", "1", "-f"),
    ("runs", "logs", "1", "train", "--attempt", "2"),  # bad input: it had one attempt
    ("run", "hello_ml", "--wait", "-p", "threshold=100", "--date", "2026-03-02"),
    ("run", "hello_ml", "--wait", "--disable", "report", "--date", "2026-03-03", "--json"),
    ("runs", "rerun", "1", "--from", "train", "--wait"),
    ("runs", "recover", "1"),  # it succeeded: nothing to recover
    ("runs", "stop", "1"),  # it ended: nothing to stop
    ("backfill", "hello_ml", "--start", "2026-01-01", "--end", "2026-01-03", "--parallel", "2", "--wait"),
    ("runs", "list", "--state", "success", "--limit", "3", "--json"),
    ("workflow", "list"),
    ("workflow", "list", "--schedule", "paused", "--last-state", "success"),
    ("workflow", "show", "hello_ml"),
    ("workflow", "export", "hello_ml", "--format", "py"),
    ("workflow", "export", "hello_ml", "--format", "json"),
    ("schedule", "list"),
    ("schedule", "pause", "hello_ml"),  # paused already: a conflict
    ("schedule", "resume", "hello_ml"),
    ("schedule", "pause", "hello_ml"),
    ("schedule", "set", "hello_ml", "--cron", "30 2 * * *", "--timezone", "Asia/Shanghai"),  # stays paused
    ("schedule", "set", "hello_ml", "--cron", "61 * * * *"),  # bad input: the schedule model's message
    ("schedule", "unset", "hello_ml"),
    ("workflow", "show", "nope"),  # not found: the same message, where it looked aside
    ("runs", "show", "999"),
    ("workflow", "apply", "{tmp}/bad.yaml"),  # a spec error: the same problem lines
    ("workflow", "apply", "{tmp}/dir"),  # a directory with a Python SDK file: all or none
    ("project", "create", "fraud"),
    ("user", "add", "alice"),
    ("project", "add-member", "fraud", "alice", "--role", "editor"),
    # (`project list` differs on purpose: a user who creates a project over the API becomes its
    # admin; the machine's owner on its own database is no member of anything.)
    ("model", "list"),
    ("workflow", "delete", "hello_ml", "--yes"),
    ("workflow", "list", "--json"),
]

# What differs between two runs of the same commands, whoever runs them.
NORMAL = [
    (re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?(\+00:00)?"), "<time>"),  # created, started, logs
    (re.compile(r"\b\d\d:\d\d:\d\d\b"), "<time>"),  # a time folded under its date in a narrow column
    # Where python tasks import from: the directories of the apply here; the server's own there.
    (re.compile(r"\(source: [^)]*\)"), "(source: <dir>)"),
    (re.compile(r"\d+\.\d+s\b"), "<secs>"),  # durations
    (re.compile(r"\(pid \d+\)"), "(pid <pid>)"),
    (re.compile(r'"pid": \d+'), '"pid": <pid>'),
    (re.compile(r'"duration": [\d.]+'), '"duration": <secs>'),
    (re.compile(r"\(looked in [^)]*\)+"), "(looked in <where>)"),
    # Who applied a workflow (its owner): the machine's `local` there, the token's `admin` here.
    (re.compile(r"\b(local|admin)\b"), "<who>"),
    (re.compile(r"[─━]+"), "─"),  # a rule or a border as wide as its (normalised) contents
    (re.compile(r" +"), " "),
]


def normal(text: str, tmp: Path) -> str:
    text = text.replace(str(tmp), "<tmp>")
    for pattern, replacement in NORMAL:
        text = pattern.sub(replacement, text)
    return "\n".join(line.rstrip() for line in text.splitlines())


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str
    token: str
    log: Path


def start_server(home: Path) -> Server:
    """`shoal server` on a free port, run from the repository (its python tasks import
    `examples.hello` from there), and the first admin's token it prints."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOAL_")}
    env["SHOAL_HOME"] = str(home / "home")
    log = home / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", SHOAL, "server", "--port", str(port)], env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT)

    def started() -> str | None:
        assert proc.poll() is None, log.read_text()
        text = log.read_text()
        return text if "shoal API on" in text and " started" in text else None

    text = wait_until(started, 60, log.read_text, interval=0.1)
    token = next(line for line in text.splitlines() if line.startswith("shoal_"))
    return Server(proc, f"http://127.0.0.1:{port}", token, log)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = start_server(tmp_path_factory.mktemp("server"))
    yield s
    if s.proc.poll() is None:
        os.killpg(s.proc.pid, signal.SIGTERM)
        try:
            s.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(s.proc.pid, signal.SIGKILL)
            s.proc.wait()


def start(args: tuple[str, ...], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", SHOAL, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def ended(proc: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    out, err = proc.communicate(timeout=180)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def shoal(args: tuple[str, ...], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return ended(start(args, env))


def envs(server: Server, tmp: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(embedded: a home of its own; remote: the server, and a home that must stay empty)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("SHOAL_")}
    base["COLUMNS"] = "100"
    embedded = {**base, "SHOAL_HOME": str(tmp / "embedded")}
    remote = {**base, "SHOAL_HOME": str(tmp / "unused"), "SHOAL_API_URL": server.url, "SHOAL_TOKEN": server.token}
    return embedded, remote


def test_the_readme_tour_against_a_server_gives_the_same_results(server: Server, tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(BAD)
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "a.yaml").write_text("name: wa\ntasks:\n  - {name: a, type: shell, command: 'echo a'}\n")
    (tmp_path / "dir" / "b.py").write_text("from shoal.spec.sdk import workflow\n\nwith workflow('wb') as wf:\n"
                                           "    wf.shell('x', command='echo b')\n")
    embedded, remote = envs(server, tmp_path)
    assert shoal(("init",), embedded).returncode == 0
    differences = []
    for command in TOUR:
        args = tuple(a.replace("{tmp}", str(tmp_path)) for a in command)
        # Both at once: each side is its own world (a home, a server), and it halves the time.
        here, there = (ended(p) for p in [start(args, embedded), start(args, remote)])
        got = [(r.returncode, normal(r.stdout, tmp_path), normal(r.stderr, tmp_path)) for r in (here, there)]
        if got[0] != got[1]:
            differences.append(f"$ shoal {' '.join(command)}\n--- embedded: exit {here.returncode}\n{here.stdout}"
                               f"{here.stderr}\n--- remote: exit {there.returncode}\n{there.stdout}{there.stderr}")
    assert not differences, "differ: " + ", ".join(d.partition("\n")[0] for d in differences) + "\n\n" + \
        "\n\n".join(differences) + "\n\nserver log:\n" + server.log.read_text()
    assert not (tmp_path / "unused").exists(), "the remote CLI opened or created a local database"


def test_a_refused_token_a_refused_command_and_no_server_are_exit_2(server: Server, tmp_path: Path) -> None:
    _, remote = envs(server, tmp_path)
    bad = shoal(("runs", "list"), {**remote, "SHOAL_TOKEN": "shoal_wrong"})
    assert bad.returncode == 2 and "unknown token" in bad.stderr and "SHOAL_TOKEN" in bad.stderr, bad.stderr
    assert "shoal_wrong" not in bad.stderr + bad.stdout
    refused = shoal(("scheduler",), remote)
    assert refused.returncode == 2 and "does not run against a server" in refused.stderr, refused.stderr
    gone = shoal(("runs", "list"), {**remote, "SHOAL_API_URL": f"http://127.0.0.1:{free_port()}"})
    assert gone.returncode == 2 and "cannot reach the shoal API" in gone.stderr, gone.stderr
    assert not (tmp_path / "unused").exists()
