"""Models: list them, their versions, one version with its release history and its evaluation
report; register a bundle; release (move an alias) and roll back.

The registry (`shoal.registry`) does the work; this module adds who may do it (`engine.access`:
reading needs the viewer role in the project, changing the editor role) and is what the CLI and
the REST API call. It returns the registry's own frozen dataclasses, whose `to_json()` is their
JSON form. A release checks the version's files against the hashes taken when it registered, so
moving an alias imports no ML library.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shoal.engine.access import LOCAL, Actor, Role, require
from shoal.errors import NotFound
from shoal.registry import DEFAULT_ALIAS, ModelInfo, ModelVersion, Registry, Release
from shoal.spec.models import DEFAULT_PROJECT

if TYPE_CHECKING:
    from shoal.store import Store

__all__ = [
    "DEFAULT_ALIAS", "ModelDetail", "ModelInfo", "ModelVersion", "Registry", "Release", "get_evaluation",
    "get_version", "history",
    "list_models", "list_versions", "register", "registry", "release", "rollback", "serve",
]


@dataclass(frozen=True)
class ModelDetail:
    """One version and the release history of its model (every alias, oldest first)."""

    version: ModelVersion
    history: list[Release]

    def to_json(self) -> dict[str, Any]:
        return {**self.version.to_json(), "history": [r.to_json() for r in self.history]}


def _reader(store: Store, project: str, actor: Actor) -> Registry:
    require(actor, project, Role.VIEWER, f"read models of project {project!r}")
    return Registry(store, project)


def _writer(store: Store, project: str, actor: Actor, doing: str) -> Registry:
    require(actor, project, Role.EDITOR, f"{doing} models of project {project!r}")
    return Registry(store, project)


def registry(store: Store, *, project: str = DEFAULT_PROJECT, actor: Actor = LOCAL) -> Registry:
    """The project's registry for reading (a model server watching an alias)."""
    return _reader(store, project, actor)


def list_models(store: Store, *, project: str = DEFAULT_PROJECT, actor: Actor = LOCAL) -> list[ModelInfo]:
    """Models of the project with their latest version and aliases, by name."""
    return _reader(store, project, actor).models()


def list_versions(
    store: Store, name: str, *, project: str = DEFAULT_PROJECT, actor: Actor = LOCAL
) -> list[ModelVersion]:
    """A model's versions, oldest first, each with the aliases pointing at it."""
    return _reader(store, project, actor).versions(name)


def get_version(
    store: Store,
    name: str,
    *,
    version: int | None = None,
    alias: str | None = None,
    project: str = DEFAULT_PROJECT,
    actor: Actor = LOCAL,
) -> ModelDetail:
    """A version by number or alias (neither: the latest), with the model's release history."""
    reg = _reader(store, project, actor)
    return ModelDetail(reg.get(name, version=version, alias=alias), reg.history(name))


def get_evaluation(
    store: Store, name: str, version: int, *, project: str = DEFAULT_PROJECT, actor: Actor = LOCAL
) -> dict[str, Any]:
    """The evaluation report stored with a version (ROC and PR curves, confusion matrix, feature
    importance); NotFound when the version was registered without one."""
    report = _reader(store, project, actor).evaluation(name, version)
    if report is None:
        raise NotFound(f"model {name} version {version} has no evaluation: register it with "
                       "evaluation: '${evaluate.evaluation}' in the release task")
    return report


def history(
    store: Store, name: str, *, alias: str | None = None, project: str = DEFAULT_PROJECT, actor: Actor = LOCAL
) -> list[Release]:
    """Every release and rollback of a model (of one alias), oldest first."""
    return _reader(store, project, actor).history(name, alias)


def register(
    store: Store,
    name: str,
    bundle: str | Path,
    *,
    metrics: dict[str, Any] | None = None,
    feature_set: str | None = None,
    feature_set_version: int | None = None,
    description: str = "",
    evaluation: dict[str, Any] | None = None,
    project: str = DEFAULT_PROJECT,
    actor: Actor = LOCAL,
) -> ModelVersion:
    """Record a saved model bundle (a directory written by `shoal.ml`) as the model's next version.

    The bundle must load; with a feature set, every model input must be one of its features.
    `evaluation` is an evaluation report (`shoal.ml.evaluation`), checked and stored with it.
    """
    return _writer(store, project, actor, "register").register(
        name, bundle, metrics=metrics, feature_set=feature_set, feature_set_version=feature_set_version,
        description=description, evaluation=evaluation,
    )


def release(
    store: Store,
    name: str,
    version: int,
    *,
    alias: str = DEFAULT_ALIAS,
    project: str = DEFAULT_PROJECT,
    actor: Actor = LOCAL,
) -> Release:
    """Point `alias` at `version` (ReleaseRefused, alias unmoved, if its artifact is damaged).
    `from_version == to_version` in the result: it pointed there already and nothing changed."""
    return _writer(store, project, actor, "release").release(name, version, alias)


def rollback(
    store: Store,
    name: str,
    *,
    alias: str = DEFAULT_ALIAS,
    to: int | None = None,
    project: str = DEFAULT_PROJECT,
    actor: Actor = LOCAL,
) -> Release:
    """Move `alias` back to where it pointed before its current release (or to version `to`)."""
    return _writer(store, project, actor, "roll back").rollback(name, alias, to)


def serve(
    store: Store,
    name: str,
    *,
    alias: str = DEFAULT_ALIAS,
    host: str,
    port: int,
    poll: float,
    workers: int,
    max_body_bytes: int,
    max_rows: int,
    announce: Callable[[str], None],
    project: str = DEFAULT_PROJECT,
    actor: Actor = LOCAL,
) -> None:
    """Serve `name@alias` over HTTP until stopped: bind the address first (InvalidInput if it is
    wrong or busy), then load the model, `announce` what is served, and answer requests."""
    from shoal.serving.body import Limits
    from shoal.serving.server import serve as run_server

    run_server(_reader(store, project, actor), name, alias, host=host, port=port, poll=poll, workers=workers,
               limits=Limits(max_body_bytes=max_body_bytes, max_rows=max_rows), announce=announce)
