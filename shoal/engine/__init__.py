"""The engine: runs and task runs, their state machines, and the driver that moves them.

Map of the package (each module one job; names load on first use, so importing a module of
the engine pulls in only what that module needs):

state, and the one owner of it
    states        RunState, TaskRunState and the declared tables of legal moves
    transitions   guarded UPDATEs checked against those tables; DeferredWrites (pipelining)
    runtime       ActiveRun/TaskState, the in-memory picture of an owned run; `decide`
    book          RunBook: the only code that moves a task (memory + database + buckets)
    alerts        the alert deliveries a move records (run ended, retry, timeout, long run)

the driver and its collaborators (collaborators decide; only the driver records)
    driver        Driver: the loop (sync, dispatch, record), event-driven
    claims        owners, leases, claiming, admission gates (max_active_runs, backfills)
    takeover      what a driver that went away left behind
    launch        a task's next attempt as a Launch, or CannotStart
    waiting       engine-driven tasks (sub_workflow, dependent, sensors): `EngineTask`

services the CLI and API call
    runs          trigger, stop, pause, resume, rerun, recover, get, list
    workflows     apply, get, list, delete
    backfill      backfills over a date range
    scheduler     cron ticks and the scheduler loop

infrastructure
    clock         cron and time zones
    paths         where attempts' logs and results live
    access        roles per project
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shoal._lazy import lazy_exports

if TYPE_CHECKING:
    from shoal.engine.backfill import create_backfill
    from shoal.engine.book import RunBook
    from shoal.engine.claims import is_owner_dead, make_owner
    from shoal.engine.driver import Driver
    from shoal.engine.runs import (
        RunInfo,
        get_run,
        list_runs,
        pause_run,
        recover_run,
        rerun_from,
        resume_run,
        stop_run,
        trigger_run,
    )
    from shoal.engine.runtime import ActiveRun, TaskState, decide
    from shoal.engine.scheduler import Scheduler
    from shoal.engine.states import RUN_TRANSITIONS, TASK_TRANSITIONS, RunState, TaskRunState

_HOMES = {
    "create_backfill": "backfill",
    "RunBook": "book",
    "is_owner_dead": "claims",
    "make_owner": "claims",
    "Driver": "driver",
    "RunInfo": "runs",
    "get_run": "runs",
    "list_runs": "runs",
    "pause_run": "runs",
    "recover_run": "runs",
    "rerun_from": "runs",
    "resume_run": "runs",
    "stop_run": "runs",
    "trigger_run": "runs",
    "ActiveRun": "runtime",
    "TaskState": "runtime",
    "decide": "runtime",
    "Scheduler": "scheduler",
    "RUN_TRANSITIONS": "states",
    "TASK_TRANSITIONS": "states",
    "RunState": "states",
    "TaskRunState": "states",
}

__all__ = [
    "RUN_TRANSITIONS", "TASK_TRANSITIONS", "ActiveRun", "Driver", "RunBook", "RunInfo", "RunState", "Scheduler",
    "TaskRunState", "TaskState", "create_backfill", "decide", "get_run", "is_owner_dead", "list_runs", "make_owner",
    "pause_run", "recover_run", "rerun_from", "resume_run", "stop_run", "trigger_run",
]

__getattr__ = lazy_exports(__name__, _HOMES)
