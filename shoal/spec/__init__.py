"""Workflow definitions: models, YAML/JSON/Python I/O and validation. Imports nothing above it.

    models.py     pydantic models: Workflow, TaskSpec, Schedule, Resources
    io.py         load_file/load_dir/load_text (-> Workflow), read_* (-> LoadedWorkflow), dump_*
    validate.py   validate_workflow: task types, DAG, ${...} references, branches; validate_project_name
    dag.py        topological order, cycles, ancestors/descendants
    sdk.py        the Python SDK: `with workflow("name") as wf: wf.shell(...)`
    templating.py `${...}` / `$[...]` references
    errors.py     SpecError and Problem

Exports are loaded lazily: task processes import `templating` (through the task types) and are
forked from a server whose every import makes each fork slower; they need none of the rest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shoal._lazy import lazy_exports

if TYPE_CHECKING:
    from shoal.spec.dag import (
        ancestors,
        descendants,
        downstream_map,
        find_cycle,
        topological_order,
        upstream_map,
    )
    from shoal.spec.errors import Locator, Problem, SpecError
    from shoal.spec.io import (
        LoadedWorkflow,
        dump_json,
        dump_python,
        dump_yaml,
        load_dir,
        load_file,
        load_text,
        read_dir,
        read_file,
        read_text,
    )
    from shoal.spec.models import Resources, Schedule, TaskSpec, Workflow
    from shoal.spec.sdk import TaskRef, WorkflowBuilder, workflow
    from shoal.spec.validate import (
        BUILTIN_PARAMS,
        TaskTypeInfo,
        TaskTypeLookup,
        validate_project_name,
        validate_workflow,
    )

__all__ = [
    "BUILTIN_PARAMS",
    "LoadedWorkflow",
    "Locator",
    "Problem",
    "Resources",
    "Schedule",
    "SpecError",
    "TaskRef",
    "TaskSpec",
    "TaskTypeInfo",
    "TaskTypeLookup",
    "Workflow",
    "WorkflowBuilder",
    "ancestors",
    "descendants",
    "downstream_map",
    "dump_json",
    "dump_python",
    "dump_yaml",
    "find_cycle",
    "load_dir",
    "load_file",
    "load_text",
    "read_dir",
    "read_file",
    "read_text",
    "topological_order",
    "upstream_map",
    "validate_project_name",
    "validate_workflow",
    "workflow",
]

_HOMES = {
    "BUILTIN_PARAMS": "validate",
    "LoadedWorkflow": "io",
    "Locator": "errors",
    "Problem": "errors",
    "Resources": "models",
    "Schedule": "models",
    "SpecError": "errors",
    "TaskRef": "sdk",
    "TaskSpec": "models",
    "TaskTypeInfo": "validate",
    "TaskTypeLookup": "validate",
    "Workflow": "models",
    "WorkflowBuilder": "sdk",
    "ancestors": "dag",
    "descendants": "dag",
    "downstream_map": "dag",
    "dump_json": "io",
    "dump_python": "io",
    "dump_yaml": "io",
    "find_cycle": "dag",
    "load_dir": "io",
    "load_file": "io",
    "load_text": "io",
    "read_dir": "io",
    "read_file": "io",
    "read_text": "io",
    "topological_order": "dag",
    "upstream_map": "dag",
    "validate_project_name": "validate",
    "validate_workflow": "validate",
    "workflow": "sdk",
}


__getattr__ = lazy_exports(__name__, _HOMES)
