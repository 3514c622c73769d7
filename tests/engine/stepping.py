"""Stepping the engine by hand: a Driver on the in-process executor with a clock a test moves.

Nothing sleeps and no process starts: each `step` runs what the previous one started (python
tasks, in this process), records the outcomes and fires the timers the fake clock says are due.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path

from shoal.client import Client
from shoal.engine.driver import Driver
from shoal.engine.runs import RunInfo, get_run, trigger_run
from shoal.executors.inline import InlineExecutor
from shoal.store import Store, utcnow

MAX_STEPS = 200


class FakeClock:
    """Naive UTC now, moved on only by `advance`."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or utcnow()

    def __call__(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


class Stepper:
    """Applies workflows, triggers runs and steps one Driver over them."""

    def __init__(self, store: Store, workdir: Path) -> None:
        self.store = store
        self.workdir = workdir
        self.clock = FakeClock()
        self.executor = InlineExecutor()
        self.driver = Driver(store, only=[], executor=self.executor, clock=self.clock)
        self.driver.start()

    def apply(self, yaml_text: str) -> str:
        path = self.workdir / f"wf_{len(list(self.workdir.glob('*.yaml')))}.yaml"
        path.write_text(textwrap.dedent(yaml_text))
        (result,) = Client(store=self.store).apply_path(path)
        return result.name

    def trigger(self, name: str, **kwargs: object) -> int:
        run_id = trigger_run(self.store, name, **kwargs)  # type: ignore[arg-type]
        self.driver.watch([run_id])
        return run_id

    def watch(self, run_ids: Iterable[int]) -> None:
        self.driver.watch(run_ids)

    def step(self, times: int = 1) -> None:
        for _ in range(times):
            self.driver._next_sync = 0.0  # sync (claim, notice stops) on every step: time is the test's
            self.driver.step(max_wait=0.0)

    def step_until(self, done: Callable[[], bool], what: str = "the condition") -> int:
        """Step until `done()`; returns how many steps it took."""
        for n in range(1, MAX_STEPS + 1):
            self.step()
            if done():
                return n
        raise AssertionError(f"{what} did not happen within {MAX_STEPS} steps")

    def finish(self, run_id: int) -> RunInfo:
        """Step until the run ends (as far as the fake clock lets it); return it."""
        self.step_until(lambda: self.driver.is_done({run_id}), f"run {run_id} ending")
        return get_run(self.store, run_id)

    def states(self, run_id: int) -> dict[str, str]:
        return {t.task: t.state for t in get_run(self.store, run_id).tasks}

    def close(self) -> None:
        self.driver.close()
