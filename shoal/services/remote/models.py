"""The model registry over the API: models, versions, one version with its history and its
evaluation report, release, roll back. Registering a bundle reads its files, which are where the server is: refused."""

from __future__ import annotations

from typing import Any

from shoal.registry import ModelInfo, ModelVersion, Release
from shoal.services.models import DEFAULT_ALIAS, ModelDetail
from shoal.services.names import DEFAULT_PROJECT
from shoal.services.remote._client import decode, part
from shoal.services.remote._face import Face

__all__ = ["Models"]


class Models(Face):
    DEFAULT_ALIAS = DEFAULT_ALIAS

    def _path(self, project: str, name: str | None = None) -> str:
        return f"/projects/{part(project)}/models" + (f"/{part(name)}" if name is not None else "")

    def list_models(self, store: Any, *, project: str = DEFAULT_PROJECT) -> list[ModelInfo]:
        return decode(list[ModelInfo], self.api.get(self._path(project)))

    def list_versions(self, store: Any, name: str, *, project: str = DEFAULT_PROJECT) -> list[ModelVersion]:
        return decode(list[ModelVersion], self.api.get(self._path(project, name) + "/versions"))

    def get_version(self, store: Any, name: str, *, version: int | None = None, alias: str | None = None,
                    project: str = DEFAULT_PROJECT) -> ModelDetail:
        answer = dict(self.api.get(self._path(project, name), version=version, alias=alias))
        history = answer.pop("history")  # the version's fields with its model's history beside them
        return ModelDetail(decode(ModelVersion, answer), decode(list[Release], history))

    def get_evaluation(self, store: Any, name: str, version: int, *,
                       project: str = DEFAULT_PROJECT) -> dict[str, Any]:
        return dict(self.api.get(self._path(project, name) + f"/versions/{int(version)}/evaluation"))

    def release(self, store: Any, name: str, version: int, *, alias: str = DEFAULT_ALIAS,
                project: str = DEFAULT_PROJECT) -> Release:
        return decode(Release, self.api.post(self._path(project, name) + "/release",
                                             {"version": version, "alias": alias}))

    def rollback(self, store: Any, name: str, *, alias: str = DEFAULT_ALIAS, to: int | None = None,
                 project: str = DEFAULT_PROJECT) -> Release:
        return decode(Release, self.api.post(self._path(project, name) + "/rollback", {"alias": alias, "to": to}))
