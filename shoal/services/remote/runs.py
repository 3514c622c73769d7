"""Runs over the API: trigger, backfill, list, show, stop, pause, resume, rerun, recover, and
waiting for runs by watching them. A waiting command never drives a run here: the server's
scheduler does (`scheduler_running` is always true)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from shoal.engine.run_info import RunInfo
from shoal.engine.states import RUN_TERMINAL, RunState
from shoal.services import runs as local
from shoal.services.names import DEFAULT_PROJECT
from shoal.services.remote._client import decode, part
from shoal.services.remote._face import Face
from shoal.services.runs import BackfillResult, RunSummary, Watcher

__all__ = ["WATCH_SECONDS", "Runs"]

WATCH_SECONDS = 0.5  # how often a wait asks the server about its runs


class Runs(Face):
    def _path(self, run_id: int, project: str | None) -> str:
        project = project or self.api.run_projects.get(run_id, DEFAULT_PROJECT)
        return f"/projects/{part(project)}/runs/{run_id}"

    def _known(self, info: RunInfo) -> RunInfo:
        self.api.run_projects[info.id] = info.project
        return info

    def trigger(
        self, store: Any, name: str, *, project: str = DEFAULT_PROJECT, params: dict[str, str] | None = None,
        logical_date: str | date | datetime | None = None, disabled: list[str] | None = None,
    ) -> RunInfo:
        body = {"workflow": name, "project": project, "params": params or {}, "disable": disabled or [],
                "date": logical_date.isoformat() if isinstance(logical_date, (date, datetime)) else logical_date}
        return self._known(decode(RunInfo, self.api.post("/runs", body)))

    def backfill(
        self, store: Any, name: str, *, start: date, end: date, project: str = DEFAULT_PROJECT, parallel: int = 1,
        descending: bool = False, params: dict[str, str] | None = None, disabled: list[str] | None = None,
    ) -> BackfillResult:
        body = {"workflow": name, "project": project, "start": start.isoformat(), "end": end.isoformat(),
                "parallel": parallel, "order": "desc" if descending else "asc", "params": params or {},
                "disable": disabled or []}
        result = decode(BackfillResult, self.api.post("/backfills", body))
        self.api.run_projects.update(dict.fromkeys(result.run_ids, project))
        return result

    def list_runs(
        self, store: Any, *, project: str | None = None, workflow: str | None = None, state: str | None = None,
        limit: int = 50, since: date | datetime | None = None, until: date | datetime | None = None,
        trigger: str | None = None,
    ) -> list[RunSummary]:
        items = self.api.pages("/runs", limit=limit, project=project, workflow=workflow, state=state,
                               trigger=trigger, since=since and since.isoformat(), until=until and until.isoformat())
        return decode(list[RunSummary], list(items))

    def show(self, store: Any, run_id: int, *, project: str | None = DEFAULT_PROJECT) -> RunInfo:
        return self._known(decode(RunInfo, self.api.get(self._path(run_id, project))))

    def show_many(self, store: Any, run_ids: Iterable[int], *, patient: bool = False) -> list[RunInfo]:
        return [self.show(store, run_id, project=None) for run_id in run_ids]

    def stop(self, store: Any, run_ids: Iterable[int], *, project: str = DEFAULT_PROJECT) -> list[int]:
        ids = list(dict.fromkeys(run_ids))
        for run_id in ids:  # every id checked before any run is stopped, as on a local database
            local.check_stoppable(run_id, self.show(store, run_id, project=project).state)
        stopped: list[int] = []
        for run_id in ids:
            if run_id not in stopped:  # already stopped as a sub-workflow run of an earlier one
                stopped.extend(self.api.post(f"{self._path(run_id, project)}/stop")["stopped"])
        return stopped

    def pause(self, store: Any, run_ids: Iterable[int], *, project: str = DEFAULT_PROJECT) -> list[int]:
        return self._each(run_ids, project, RunState.RUNNING, "pause", "paused")

    def resume(self, store: Any, run_ids: Iterable[int], *, project: str = DEFAULT_PROJECT) -> list[int]:
        return self._each(run_ids, project, RunState.PAUSED, "resume", "resumed")

    def _each(self, run_ids: Iterable[int], project: str, needed: str, verb: str, done: str) -> list[int]:
        ids = list(dict.fromkeys(run_ids))
        for run_id in ids:
            local.check_state(run_id, self.show(None, run_id, project=project).state, needed, verb)
        for run_id in ids:
            self.api.post(f"{self._path(run_id, project)}/{verb}")
        return ids

    def rerun(self, store: Any, run_id: int, from_task: str, *, project: str = DEFAULT_PROJECT) -> int:
        self.api.run_projects[run_id] = project
        return int(self.api.post(f"{self._path(run_id, project)}/rerun", {"from_task": from_task})["tasks"])

    def recover(self, store: Any, run_id: int, *, project: str = DEFAULT_PROJECT) -> int:
        self.api.run_projects[run_id] = project
        return int(self.api.post(f"{self._path(run_id, project)}/recover")["tasks"])

    def scheduler_running(self, store: Any) -> bool:
        """The server's scheduler drives every run (`shoal server`, or `shoal api` beside `shoal scheduler`)."""
        return True

    def ended(self, store: Any, run_ids: Iterable[int]) -> bool:
        return all(info.state in RUN_TERMINAL for info in self.show_many(store, run_ids))

    def wait(
        self, store: Any, run_ids: Iterable[int], *, timeout: float | None = None, on_tick: Watcher | None = None,
        executor: Any = None,
    ) -> None:
        """Watch the runs until they end (TimeoutError after `timeout` seconds); the server drives them."""
        ids = list(run_ids)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            going = [info.id for info in self.show_many(store, ids) if info.state not in RUN_TERMINAL]
            if not going:
                return
            if on_tick:
                on_tick(going)
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"runs {ids} did not finish within {timeout}s")
            time.sleep(WATCH_SECONDS)
