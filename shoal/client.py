"""A Python client over the services: what the CLI does, callable from code and tests.

    c = Client(home="/tmp/shoal")          # or Client() for SHOAL_HOME / SHOAL_DB_URL
    c.apply(workflow)                       # validate + store (new version only on change)
    info = c.run("hello_ml", wait=True)     # drive it here, or hand it to a running scheduler

Each method is one call into `shoal.services`, with this client's store (and executor).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from shoal.services import runs as run_services
from shoal.services import workflows as workflow_services
from shoal.services.home import Store, open_home
from shoal.services.names import DEFAULT_PROJECT
from shoal.services.runs import RunInfo, Watcher
from shoal.services.workflows import ApplyResult, LoadedWorkflow

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from shoal.executors.base import Executor
    from shoal.spec.models import Workflow


class Client:
    def __init__(
        self,
        home: str | Path | None = None,
        db_url: str | None = None,
        store: Store | None = None,
        executor: Executor | None = None,
    ) -> None:
        self.store = store if store is not None else open_home(home, db_url)
        self.executor = executor  # None: each waiting call starts (and stops) its own

    @property
    def engine(self) -> Engine:
        """The store's SQLAlchemy engine, for code that reads the database itself (tests)."""
        return self.store.engine

    def close(self) -> None:
        self.store.close()

    # ---------------------------------------------------------------- workflows

    def load(self, path: str | Path) -> list[LoadedWorkflow]:
        """Read and validate every workflow in a file or directory (nothing is stored)."""
        return workflow_services.load(path)

    def apply(self, wf: Workflow, source_dir: str | Path | None = None, *, project: str | None = None) -> ApplyResult:
        return workflow_services.apply(self.store, wf, source_dir, project=project)

    def apply_path(self, path: str | Path, *, project: str | None = None) -> list[ApplyResult]:
        """Apply every workflow of a file or directory, all or none (see `services.workflows`)."""
        return workflow_services.apply_path(self.store, path, project=project)

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
        info = run_services.trigger(
            self.store, name, project=project, params=params, logical_date=date, disabled=disable,
        )
        if not wait:
            return info
        self.wait([info.id], timeout=timeout)
        return self.get_run(info.id)

    def backfill(
        self, name: str, *, start: date, end: date, project: str = DEFAULT_PROJECT, parallel: int = 1,
        descending: bool = False, params: dict[str, str] | None = None, wait: bool = False,
    ) -> list[int]:
        run_ids = run_services.backfill(
            self.store, name, start=start, end=end, project=project, parallel=parallel,
            descending=descending, params=params,
        ).run_ids
        if wait:
            self.wait(run_ids)
        return run_ids

    def wait(self, run_ids: Iterable[int], *, timeout: float | None = None, on_tick: Watcher | None = None) -> None:
        """Block until the runs end: drive them here, unless a scheduler is running to do it."""
        run_services.wait(self.store, run_ids, timeout=timeout, on_tick=on_tick, executor=self.executor)

    def get_run(self, run_id: int) -> RunInfo:
        return run_services.show(self.store, run_id, project=None)
