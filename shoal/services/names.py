"""The names a caller of the services needs: run and task-run states, who acts, the default
project. Each has one definition below (engine, spec); re-exported so that callers stay above."""

from __future__ import annotations

from shoal.engine.access import LOCAL, Actor, Role
from shoal.engine.states import RUN_TERMINAL, TASK_TERMINAL, RunState, TaskRunState
from shoal.spec.models import DEFAULT_PROJECT

__all__ = ["DEFAULT_PROJECT", "LOCAL", "RUN_TERMINAL", "TASK_TERMINAL", "Actor", "Role", "RunState", "TaskRunState"]
