"""Feature tables and feature sets over the API: list, show, deploy a SQL (read here, sent as
text), compute request rows. Importing, extracting, loading the online store, inserting rows
and verifying read and write files where the server is: the CLI refuses them remotely.

The dataclasses come from `shoal.services.features`, which brings the feature engine
(shoal[features]): loaded when a command first needs one, not with the remote face.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from shoal.errors import InvalidInput
from shoal.services.names import DEFAULT_PROJECT
from shoal.services.remote._client import decode, part
from shoal.services.remote._face import Face

__all__ = ["Features"]


def _local() -> Any:
    from shoal.services import features

    return features


class Features(Face):
    def _path(self, project: str) -> str:
        return f"/projects/{part(project)}"

    def read_sql(self, path: str | Path) -> str:
        return str(_local().read_sql(path))

    def parse_rows(self, values: Sequence[str] = (), file: str | Path | None = None, *,
                   stdin: IO[bytes] | None = None) -> list[dict[str, Any]]:
        return list(_local().parse_rows(values, file, stdin=stdin))

    def list_tables(self, store: Any, *, project: str = DEFAULT_PROJECT) -> list[Any]:
        return decode(list[_local().TableSummary], self.api.get(self._path(project) + "/feature-tables"))

    def list_feature_sets(self, store: Any, *, project: str = DEFAULT_PROJECT) -> list[Any]:
        return decode(list[_local().FeatureSetSummary], self.api.get(self._path(project) + "/feature-sets"))

    def feature_set_versions(self, store: Any, name: str, *, project: str = DEFAULT_PROJECT) -> list[Any]:
        answer = self.api.get(f"{self._path(project)}/feature-sets/{part(name)}/versions")
        return decode(list[_local().FeatureSetSummary], answer)

    def show_feature_set(self, store: Any, name: str, *, version: int | None = None,
                         project: str = DEFAULT_PROJECT) -> Any:
        answer = self.api.get(f"{self._path(project)}/feature-sets/{part(name)}", version=version)
        return decode(_local().FeatureSetDetail, answer)

    def deploy(self, store: Any, name: str, sql: str, *, tables: Mapping[str, str] | None = None,
               max_rows_per_key: int = 10_000, project: str = DEFAULT_PROJECT) -> Any:
        if tables:
            raise InvalidInput("--table reads files on this machine, which the server cannot see: deploy against "
                               "the project's managed tables, or run the command on the server (unset SHOAL_API_URL)")
        answer = self.api.post(self._path(project) + "/feature-sets",
                               {"name": name, "sql": sql, "max_rows_per_key": max_rows_per_key})
        return decode(_local().DeployResult, answer)

    def compute(self, store: Any, name: str, rows: Sequence[Mapping[str, Any]], *, version: int | None = None,
                project: str = DEFAULT_PROJECT) -> list[dict[str, Any]]:
        answer = self.api.post(f"{self._path(project)}/feature-sets/{part(name)}/compute", {"rows": list(rows)},
                               version=version)
        return list(answer)
