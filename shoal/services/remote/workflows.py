"""Workflows over the API: apply files (their text is sent; the server validates and stores
them), list, show, versions, diff, export, delete.

A Python SDK file is code: the API never runs what a request carries, so it is evaluated here,
on the user's own machine as `shoal workflow apply` always has, and the workflows it builds are
sent as JSON. A directory is sent whole in one request (`files`), stored all or none.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from shoal.services import workflows as local
from shoal.services.names import DEFAULT_PROJECT
from shoal.services.remote._client import decode, part
from shoal.services.remote._face import Face
from shoal.services.workflows import ApplyResult, VersionInfo, WorkflowDetail, WorkflowDiff, WorkflowSummary
from shoal.spec.errors import Problem, SpecError
from shoal.spec.io import FORMATS, dump_json, file_text, read_file, workflow_files

__all__ = ["Workflows", "files_to_send"]


def files_to_send(path: str | Path) -> list[dict[str, str]]:
    """The `files` of an apply request for a file or directory: `{name, content, format}` each,
    named as a local apply names them in its messages. Reading problems (and a Python file's)
    are raised here, all of them, before anything is sent."""
    p = Path(path)
    paths = workflow_files(p) if p.is_dir() else [p]
    files: list[dict[str, str]] = []
    problems: list[Problem] = []
    for file in paths:
        try:
            if FORMATS.get(file.suffix.lower()) == "python":
                # Built here without validating task types: the server checks them against its own.
                files.extend({"name": lw.source, "content": dump_json(lw.workflow), "format": "json"}
                             for lw in read_file(file, None))
            else:
                text, fmt = file_text(file)
                files.append({"name": str(file), "content": text, "format": fmt})
        except SpecError as exc:
            problems.extend(exc.problems)
    if problems:
        raise SpecError(problems)
    return files


class Workflows(Face):
    EXPORT_FORMATS = local.EXPORT_FORMATS
    format_of_suffix = staticmethod(local.format_of_suffix)

    def apply_path(self, store: Any, path: str | Path, *, project: str | None = None) -> list[ApplyResult]:
        files = files_to_send(path)
        if not files:
            raise local.no_workflows(path)
        answer = self.api.post("/workflows", {"files": files, "project": project})
        return decode(list[ApplyResult], answer)

    def list_workflows(self, store: Any, *, search: str | None = None, project: str | None = None,
                       schedule: str | None = None, last_state: str | None = None) -> list[WorkflowSummary]:
        found = self.api.pages("/workflows", search=search, project=project, schedule=schedule, last_state=last_state)
        return decode(list[WorkflowSummary], list(found))

    def _path(self, name: str, project: str) -> str:
        return f"/projects/{part(project)}/workflows/{part(name)}"

    def show(self, store: Any, name: str, *, project: str = DEFAULT_PROJECT,
             version: int | None = None) -> WorkflowDetail:
        detail = decode(WorkflowDetail, self.api.get(self._path(name, project), version=version))
        schedule = detail.schedule
        if schedule and isinstance(schedule.get("next_fire_at"), str):
            # A datetime on a local database; the CLI prints it as one.
            schedule["next_fire_at"] = datetime.fromisoformat(schedule["next_fire_at"])
        return detail

    def versions(self, store: Any, name: str, *, project: str = DEFAULT_PROJECT) -> list[VersionInfo]:
        return decode(list[VersionInfo], self.api.get(self._path(name, project) + "/versions"))

    def diff(self, store: Any, name: str, old: int, new: int | None = None, *,
             project: str = DEFAULT_PROJECT) -> WorkflowDiff:
        return decode(WorkflowDiff, self.api.get(self._path(name, project) + "/diff", old=old, new=new))

    def export(self, store: Any, name: str, fmt: str = "yaml", *, project: str = DEFAULT_PROJECT,
               version: int | None = None) -> str:
        answer = self.api.request("GET", self._path(name, project) + "/export",
                                  params={"format": fmt, "version": version})
        return answer.text

    def delete(self, store: Any, name: str, *, project: str = DEFAULT_PROJECT) -> None:
        self.api.request("DELETE", self._path(name, project))
