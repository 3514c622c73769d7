"""`shoal runs logs RUN [TASK] --follow`: print task logs as they are written, like `tail -f`,
until the run (or the one task) has ended.

Attempt logs are plain files the executor appends to, one line at a time and unbuffered, so
following is polling each file's size: what is new up to its last newline is printed, a partial
line waits for the rest. Several tasks interleave, each line prefixed by `task#attempt`, as
`docker compose logs -f` does; one task prints a rule when a new attempt begins.
"""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.markup import escape

from shoal.cli._common import console, err_console
from shoal.engine.paths import attempt_dir, run_dir_is_its_own
from shoal.engine.runs import RunInfo, get_run
from shoal.engine.scheduler import run_driven
from shoal.engine.states import TASK_TERMINAL
from shoal.errors import InvalidInput
from shoal.store import Store

POLL_SECONDS = 0.25
UNDRIVEN_HINT_SECONDS = 2.0  # a run nobody drives this long gets one hint (a claim takes ~1 s)


class _Tail:
    """What of one attempt's log has been printed."""

    def __init__(self, path: Path, prefix: str) -> None:
        self.path, self.prefix = path, prefix
        self.offset = 0
        self.partial = b""

    def lines(self, final: bool) -> list[str]:
        try:
            with self.path.open("rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return []
        self.offset += len(data)
        data = self.partial + data
        cut = len(data) if final else data.rfind(b"\n") + 1
        self.partial = data[cut:]
        return data[:cut].decode("utf-8", "replace").splitlines()


def follow(store: Store, run_id: int, task: str | None, attempt: int | None) -> None:
    """Print new log lines of the run's tasks (or of `task`, or of one `attempt`) until it ends."""
    tails: dict[Path, _Tail] = {}
    undriven = _Undriven(store, run_id)
    while True:
        # Read the state before the files: once it says ended, every line was written already.
        info = get_run(store, run_id)
        tasks = [t for t in info.tasks if task is None or t.task == task]
        ended = info.is_finished or (task is not None and all(t.state in TASK_TERMINAL for t in tasks))
        for t in tasks:
            for path in attempt_logs(store, info, t.task, attempt):
                tail = tails.get(path)
                if tail is None:
                    tail = tails[path] = _Tail(path, "" if task is not None else f"{t.task}#{path.stem} | ")
                    if task is not None:
                        console.rule(f"{escape(t.task)} · attempt {path.stem}", style="dim")
                for line in tail.lines(final=ended):
                    typer.echo(f"{tail.prefix}{line}")
        if ended:
            if attempt is not None and not tails:  # as without --follow: it never ran
                most = max((t.attempt for t in tasks), default=0)
                raise InvalidInput(f"{'task ' + repr(task) if task else 'no task'} of run {run_id} "
                                   f"{'has' if task else 'had'} no attempt {attempt}; it ended after "
                                   f"{most} attempt{'s' if most != 1 else ''}")
            return
        undriven.check()
        time.sleep(POLL_SECONDS)


class _Undriven:
    """Says once, on stderr, when the followed run waits for a driver that is not there (no
    scheduler, its waiting command gone): following it would otherwise wait in silence."""

    def __init__(self, store: Store, run_id: int) -> None:
        self.store, self.run_id = store, run_id
        self.since: float | None = None
        self.told = False

    def check(self) -> None:
        if run_driven(self.store, self.run_id):
            self.since, self.told = None, False  # told again if it is left without a driver later
            return
        now = time.monotonic()
        if self.since is None:
            self.since = now
        if not self.told and now - self.since >= UNDRIVEN_HINT_SECONDS:
            self.told = True
            err_console.print(
                f"run {self.run_id} waits for a driver and none is running: start `shoal scheduler`, or "
                f"`shoal runs wait {self.run_id}` in another terminal (still following)", soft_wrap=True,
            )


def attempt_logs(store: Store, info: RunInfo, task: str, attempt: int | None) -> list[Path]:
    """A task's attempt logs in attempt order (only `attempt`'s, if given); none while the run's
    directory holds another run's files (an earlier database's run of the same number)."""
    folder = attempt_dir(store.logs_dir, info.id, task)
    has_run = any(t.attempt for t in info.tasks)
    if not folder.is_dir() or not run_dir_is_its_own(store.logs_dir, info.id, info.created_at, has_run):
        return []
    files = sorted(folder.glob("*.log"), key=lambda p: int(p.stem))
    return [f for f in files if attempt is None or f.stem == str(attempt)]
