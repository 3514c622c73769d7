"""A Python client over the engine services: what the CLI does, callable from code and tests.

    c = Client(home="/tmp/shoal")          # or Client() for SHOAL_HOME / SHOAL_DB_URL
    c.apply(workflow)                       # validate + store (new version only on change)
    info = c.run("hello_ml", wait=True)     # drive it here, or hand it to a running scheduler
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from shoal.config import Settings
from shoal.engine.backfill import create_backfill
from shoal.engine.driver import Driver
from shoal.engine.runs import RunInfo, get_run, trigger_run
from shoal.engine.scheduler import scheduler_alive
from shoal.engine.states import RUN_TERMINAL
from shoal.engine.workflows import ApplyResult, apply_workflows
from shoal.errors import InvalidInput
from shoal.executors.local import LocalExecutor
from shoal.spec.errors import Problem, SpecError
from shoal.spec.io import FORMATS, LoadedWorkflow, read_dir, read_file
from shoal.spec.models import DEFAULT_PROJECT, Workflow
from shoal.spec.validate import validate_project_name, validate_workflow
from shoal.store import Store, open_store
from shoal.store.models import runs
from shoal.store.retry import DATABASE_AWAY, DatabaseRetry
from shoal.tasks.registry import task_types

Watcher = Callable[[list[int]], None]


class Client:
    def __init__(
        self,
        home: str | Path | None = None,
        db_url: str | None = None,
        store: Store | None = None,
        executor: LocalExecutor | None = None,
    ) -> None:
        if store is None:
            overrides: dict[str, Any] = {}
            if home is not None:
                overrides["home"] = Path(home)
            if db_url is not None:
                overrides["db_url"] = db_url
            store = open_store(Settings(**overrides))
        self.store = store
        self.executor = executor  # None: each waiting call starts (and stops) its own

    @property
    def engine(self) -> Engine:
        return self.store.engine

    def close(self) -> None:
        self.store.close()

    # ---------------------------------------------------------------- workflows

    def load(self, path: str | Path) -> list[LoadedWorkflow]:
        """Read and validate every workflow in a file or directory (nothing is stored)."""
        p = Path(path)
        return read_dir(p, task_types()) if p.is_dir() else read_file(p, task_types())

    def apply(self, wf: Workflow, source_dir: str | Path | None = None, *, project: str | None = None) -> ApplyResult:
        return apply_workflows(self.store, [self._prepared(wf, source_dir, project)])[0]

    def apply_path(self, path: str | Path, *, project: str | None = None) -> list[ApplyResult]:
        """Apply every workflow of a file or directory, all or none: all are validated before
        any is stored, and they are stored in one transaction.

        Python tasks import their `module:function` from the directory `apply` is run in, then
        from the file's own directory: both are kept as the version's search path.
        """
        loaded = self.load(path)
        if not loaded:
            hint = (
                f": apply reads the {'/'.join(FORMATS)} files directly inside it, not in its "
                "subdirectories, and skips names starting with _ or ."
            ) if Path(path).is_dir() else ""
            raise InvalidInput(f"no workflows found in {path}{hint}")
        if project is not None:
            _refuse_merged_names(loaded, project)
        items = []
        for lw in loaded:
            dirs = [str(Path.cwd().resolve())] + ([str(Path(lw.source_dir).resolve())] if lw.source_dir else [])
            items.append(self._prepared(lw.workflow, os.pathsep.join(dict.fromkeys(dirs)), project, validated=True))
        return apply_workflows(self.store, items)

    def _prepared(
        self, wf: Workflow, source_dir: str | Path | None, project: str | None, *, validated: bool = False,
    ) -> tuple[Workflow, str | None]:
        """`wf` moved to `project` (if given) and validated (unless `load` just did: a second pass
        costs a quarter of applying a 20,000-task file), with its source directory resolved."""
        if project is not None and project != wf.project:
            wf = wf.model_copy(update={"project": validate_project_name(project)})
        if not validated:
            validate_workflow(wf, task_types())
        if source_dir is not None and os.pathsep not in str(source_dir):
            source_dir = str(Path(source_dir).resolve())
        return wf, str(source_dir) if source_dir else None

    # ---------------------------------------------------------------- runs

    def run(
        self,
        name: str,
        *,
        project: str = DEFAULT_PROJECT,
        params: dict[str, str] | None = None,
        date: str | date | None = None,
        disable: list[str] | None = None,
        wait: bool = False,
        timeout: float | None = None,
    ) -> RunInfo:
        run_id = trigger_run(self.store, name, project=project, params=params, logical_date=date, disabled=disable)
        if wait:
            self.wait([run_id], timeout=timeout)
        return get_run(self.store, run_id)

    def backfill(
        self, name: str, *, start: date, end: date, project: str = DEFAULT_PROJECT, parallel: int = 1,
        descending: bool = False, params: dict[str, str] | None = None, wait: bool = False,
    ) -> list[int]:
        _, run_ids = create_backfill(
            self.store, name, start=start, end=end, project=project, parallel=parallel,
            descending=descending, params=params,
        )
        if wait:
            self.wait(run_ids)
        return run_ids

    def wait(self, run_ids: Iterable[int], *, timeout: float | None = None, on_tick: Watcher | None = None) -> None:
        """Block until the runs end: drive them here, unless a scheduler is running to do it."""
        ids = list(run_ids)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            watching = self._watch(ids, deadline, timeout, on_tick)
            if watching is None:
                return
            if watching:
                continue
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            with Driver(self.store, only=ids, executor=self.executor) as driver:
                try:
                    driver.drive(ids, timeout=remaining, on_tick=on_tick)
                except KeyboardInterrupt:
                    # Cut off what runs here, record it (retried by whoever drives the runs
                    # next, if it has retries) and let the runs go, so that any driver, on any
                    # host, goes on with them at once.
                    try:
                        driver.drain(0.0, why="the waiting command was interrupted")
                    except DATABASE_AWAY:  # nothing recorded: the next driver finds them cut off
                        pass
                    raise
            return

    def _watch(
        self, ids: list[int], deadline: float | None, timeout: float | None, on_tick: Watcher | None
    ) -> bool | None:
        """While a scheduler is alive, watch it drive the runs. None: they ended; True: the
        scheduler went away (look again); False: there is none, drive them here. A database
        that goes away meanwhile is waited for: the runs go on without us."""
        watched = False
        retry = DatabaseRetry()
        while True:
            try:
                if self._ended(ids):
                    return None
                if not scheduler_alive(self.store):
                    return watched
                watched = True
                if on_tick:
                    on_tick(ids)
            except DATABASE_AWAY as exc:
                time.sleep(retry.failed(exc))
                continue
            retry.ok()
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"runs {ids} did not finish within {timeout}s")
            time.sleep(0.2)

    def _ended(self, ids: list[int]) -> bool:
        with self.engine.connect() as conn:
            states = conn.execute(select(runs.c.state).where(runs.c.id.in_(ids))).scalars().all()
        return all(s in RUN_TERMINAL for s in states)

    def get_run(self, run_id: int) -> RunInfo:
        return get_run(self.store, run_id)


def _refuse_merged_names(loaded: list[LoadedWorkflow], project: str) -> None:
    """`--project` puts every workflow in one project: two of the same name would silently
    become versions of one workflow."""
    first: dict[str, LoadedWorkflow] = {}
    problems = []
    for lw in loaded:
        other = first.setdefault(lw.workflow.name, lw)
        if other is not lw:
            problems.append(Problem(
                lw.source, lw.locate(("name",)), None, "name",
                f"workflow {lw.workflow.name!r} is also defined in {other.source}; with --project {project} both "
                "would be the same workflow: rename one or apply them separately",
            ))
    if problems:
        raise SpecError(problems)
