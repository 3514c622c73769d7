"""Models, immutable versions, aliases and the release history, in the metadata database.

`register` copies a saved model bundle (model + preprocessing, `shoal.ml.bundle`) to the artifact
store and records a new version with its metrics, signature, feature set and provenance.
A version may carry an evaluation report (ROC and PR curves, confusion matrix, feature
importance: `evaluation.py`), kept as a file in its artifact directory; `evaluation` reads it.
`release` moves an alias to a version only after the version's artifact has loaded; `rollback`
moves it back along the alias's release history. Every move is one transaction that also
appends to `model_releases`, so the history is exactly the sequence of alias positions.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from shoal.errors import NotFound
from shoal.ml.errors import MLError
from shoal.registry.artifacts import (
    damage,
    digest,
    local_path,
    read_evaluation,
    store_artifact,
)
from shoal.registry.errors import ModelNotFound, RegistryInputError, ReleaseRefused
from shoal.registry.evaluation import check_evaluation, dumps
from shoal.store import Store, utcnow
from shoal.store.models import (
    model_aliases,
    model_releases,
    model_versions,
    models,
    projects,
)
from shoal.store.projects import DEFAULT_PROJECT, project_id

if TYPE_CHECKING:
    from shoal.ml.bundle import ModelBundle

DEFAULT_ALIAS = "production"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True)
class ModelVersion:
    project: str
    model: str
    version: int
    flavor: str
    artifact_uri: str
    preprocess: dict[str, Any] | None
    feature_set: str | None
    feature_set_version: int | None
    metrics: dict[str, Any]
    signature: dict[str, Any]
    params: dict[str, Any]
    description: str
    run_id: int | None
    task_run_id: int | None
    created_at: datetime
    aliases: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["created_at"] = self.created_at.isoformat()
        d["aliases"] = list(self.aliases)
        return d


@dataclass(frozen=True)
class Release:
    model: str
    alias: str
    action: str
    from_version: int | None
    to_version: int
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["created_at"] = self.created_at.isoformat()
        return d


@dataclass(frozen=True)
class ModelInfo:
    project: str
    name: str
    description: str
    latest_version: int | None
    aliases: dict[str, int]
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["created_at"] = self.created_at.isoformat()
        return d


def check_name(name: str, what: str = "model") -> str:
    if not _NAME.match(name):
        raise RegistryInputError(f"{what} name {name!r}: use letters, digits, _, - and . (at most 128)")
    return name


class Registry:
    """The registry of one project. Usable without the scheduler: `Registry(open_store())`."""

    def __init__(self, store: Store, project: str = DEFAULT_PROJECT) -> None:
        self.store = store
        self.project = project

    # -- reading ---------------------------------------------------------------------------------

    def _model_id(self, conn: Connection, model: str) -> int:
        mid = conn.execute(
            select(models.c.id)
            .join(projects, projects.c.id == models.c.project_id)
            .where(projects.c.name == self.project, models.c.name == model)
        ).scalar()
        if mid is None:
            raise ModelNotFound(
                f"no model {model!r} in project {self.project}; `shoal model list` shows the models"
            )
        return int(mid)

    def _aliases(self, conn: Connection, mid: int) -> dict[str, int]:
        rows = conn.execute(select(model_aliases).where(model_aliases.c.model_id == mid)).all()
        return {r.alias: r.version for r in rows}

    def _version(self, row: Any, model: str, aliases: dict[str, int]) -> ModelVersion:
        return ModelVersion(
            self.project, model, row.version, row.flavor, row.artifact_uri, row.preprocess, row.feature_set,
            row.feature_set_version, row.metrics, row.signature, row.params, row.description, row.run_id,
            row.task_run_id, row.created_at, tuple(sorted(a for a, v in aliases.items() if v == row.version)),
        )

    def get(self, model: str, *, version: int | None = None, alias: str | None = None) -> ModelVersion:
        """A version by number, by alias, or (neither) the latest."""
        with self.store.engine.connect() as conn:
            mid = self._model_id(conn, model)
            aliases = self._aliases(conn, mid)
            if alias is not None:
                if alias not in aliases:
                    raise NotFound(
                        f"model {model} has no alias {alias!r} (aliases: {', '.join(aliases) or 'none'}); "
                        f"release a version with `shoal model release {model} VERSION --alias {alias}`"
                    )
                version = aliases[alias]
            q = select(model_versions).where(model_versions.c.model_id == mid)
            q = (q.where(model_versions.c.version == version) if version is not None
                 else q.order_by(model_versions.c.version.desc()))
            row = conn.execute(q.limit(1)).first()
        if row is None:
            what = f"version {version}" if version is not None else "versions"
            raise NotFound(f"model {model} has no {what}; `shoal model versions {model}` lists them")
        return self._version(row, model, aliases)

    def alias_version(self, model: str, alias: str = DEFAULT_ALIAS) -> int | None:
        """Where `alias` points now: one indexed read, cheap enough for a server to poll."""
        with self.store.engine.connect() as conn:
            return conn.execute(
                select(model_aliases.c.version)
                .join(models, models.c.id == model_aliases.c.model_id)
                .join(projects, projects.c.id == models.c.project_id)
                .where(projects.c.name == self.project, models.c.name == model, model_aliases.c.alias == alias)
            ).scalar()

    def versions(self, model: str) -> list[ModelVersion]:
        with self.store.engine.connect() as conn:
            mid = self._model_id(conn, model)
            aliases = self._aliases(conn, mid)
            rows = conn.execute(
                select(model_versions).where(model_versions.c.model_id == mid).order_by(model_versions.c.version)
            ).all()
        return [self._version(r, model, aliases) for r in rows]

    def models(self) -> list[ModelInfo]:
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                select(models, func.max(model_versions.c.version).label("latest"))
                .join(projects, projects.c.id == models.c.project_id)
                .outerjoin(model_versions, model_versions.c.model_id == models.c.id)
                .where(projects.c.name == self.project)
                .group_by(models.c.id)
                .order_by(models.c.name)
            ).all()
            return [
                ModelInfo(self.project, r.name, r.description, r.latest, self._aliases(conn, r.id), r.created_at)
                for r in rows
            ]

    def history(self, model: str, alias: str | None = None) -> list[Release]:
        with self.store.engine.connect() as conn:
            mid = self._model_id(conn, model)
            q = select(model_releases).where(model_releases.c.model_id == mid)
            if alias is not None:
                q = q.where(model_releases.c.alias == alias)
            rows = conn.execute(q.order_by(model_releases.c.id)).all()
        return [Release(model, r.alias, r.action, r.from_version, r.to_version, r.created_at) for r in rows]

    def evaluation(self, model: str, version: int) -> dict[str, Any] | None:
        """The evaluation report stored with a version, or None when it was registered without one."""
        mv = self.get(model, version=version)
        raw = read_evaluation(mv.artifact_uri)
        return None if raw is None else json.loads(raw)

    def load(self, mv: ModelVersion) -> ModelBundle:
        """The version's bundle, ready to predict (downloaded first if the artifact is remote)."""
        from shoal.ml.bundle import (
            ModelBundle,  # the ML libraries load only when a model does
        )

        return ModelBundle.load(self._local(mv))

    def _local(self, mv: ModelVersion) -> Path:
        return local_path(mv.artifact_uri, self.store.settings.home_dir / "cache" / "models")

    # -- writing ---------------------------------------------------------------------------------

    def register(
        self,
        model: str,
        bundle_dir: str | Path,
        *,
        metrics: dict[str, Any] | None = None,
        feature_set: str | None = None,
        feature_set_version: int | None = None,
        description: str = "",
        run_id: int | None = None,
        task_run_id: int | None = None,
        evaluation: dict[str, Any] | None = None,
    ) -> ModelVersion:
        """Record the bundle saved in `bundle_dir` as the next version of `model`.

        The bundle must load; with a feature set, every model input must be one of its features,
        and the signature becomes the feature set's request row (what `/predict` must receive).
        `evaluation` (a report of `shoal.ml.evaluation`) is checked, then stored with the files.
        """
        check_name(model)
        report = dumps(check_evaluation(evaluation)) if evaluation is not None else None
        from shoal.ml.bundle import ModelBundle

        bundle_dir = Path(bundle_dir)
        try:
            bundle = ModelBundle.load(bundle_dir)
        except MLError as e:
            raise RegistryInputError(f"cannot register {bundle_dir} as {model}: {e}") from None
        meta = bundle.meta
        signature = self._signature(bundle, feature_set, feature_set_version)
        if feature_set is not None and feature_set_version is None:
            feature_set_version = signature.pop("feature_set_version")
        signature.pop("feature_set_version", None)
        metrics = {k: _plain(v) for k, v in (metrics or {}).items()}
        again = self._registered_by(model, task_run_id, bundle_dir)
        if again is not None:
            return again
        uri = store_artifact(self.store.settings.artifacts_url, self.project, model, bundle_dir, evaluation=report)
        preprocess = json.loads((bundle_dir / "bundle.json").read_text()).get("preprocess")
        for _ in range(5):  # two registrations racing for the same number: the loser takes the next
            try:
                with self.store.engine.begin() as conn:
                    pid = project_id(conn, self.project, create=True)
                    mid = conn.execute(
                        select(models.c.id).where(models.c.project_id == pid, models.c.name == model)
                    ).scalar()
                    if mid is None:
                        mid = conn.execute(
                            insert(models).values(project_id=pid, name=model, description=description,
                                                  created_at=utcnow())
                        ).inserted_primary_key[0]
                    # Lock the model row: registrations of one model then number in turn instead of
                    # colliding and retrying (PostgreSQL; SQLite's BEGIN IMMEDIATE serializes already).
                    conn.execute(select(models.c.id).where(models.c.id == mid).with_for_update())
                    last = conn.execute(
                        select(func.max(model_versions.c.version)).where(model_versions.c.model_id == mid)
                    ).scalar()
                    version = (last or 0) + 1
                    conn.execute(
                        insert(model_versions).values(
                            model_id=mid, version=version, flavor=meta["flavor"], artifact_uri=uri,
                            preprocess=preprocess, feature_set=feature_set, feature_set_version=feature_set_version,
                            metrics=metrics, signature=signature, params=_plain(meta.get("params") or {}),
                            description=description, run_id=run_id, task_run_id=task_run_id, created_at=utcnow(),
                        )
                    )
                return self.get(model, version=version)
            except IntegrityError:
                continue
        raise RegistryInputError(f"could not register {model}: too many concurrent registrations, try again")

    def _registered_by(self, model: str, task_run_id: int | None, bundle_dir: Path) -> ModelVersion | None:
        """The version this task run already registered from the same files, if any.

        A release task whose attempt died after registering is retried with the same task run:
        it gets that version back instead of a duplicate. A rerun that trained a different model
        has different files, and registers a new version.
        """
        if task_run_id is None:
            return None
        try:
            earlier = [v for v in self.versions(model) if v.task_run_id == task_run_id]
        except ModelNotFound:
            return None
        if not earlier:
            return None
        mine = digest(bundle_dir)
        return next((v for v in reversed(earlier) if digest(v.artifact_uri) == mine), None)

    def _signature(self, bundle: Any, feature_set: str | None, fs_version: int | None) -> dict[str, Any]:
        meta = bundle.meta
        features = list(meta["inputs"])
        if feature_set is None:
            kinds = dict(meta.get("input_kinds") or {})
            return {"inputs": {c: kinds.get(c, "float") for c in features}, "required": [], "features": features}
        from shoal.features.catalog import get_feature_set
        from shoal.features.query import MAIN

        info = get_feature_set(self.store, feature_set, project=self.project, version=fs_version)
        query = info.query()
        computed = [f.name for f in query.features]
        missing = [c for c in features if c not in computed]
        if missing:
            raise RegistryInputError(
                f"model inputs {missing} are not features of feature set {feature_set} v{info.version} "
                f"(it computes: {', '.join(computed)})"
            )
        main = query.schemas[MAIN]
        keys = {k for w in query.windows.values() for k in w.partition_by} | {m for j in query.joins for m, _ in j.on}
        return {
            # What a request carries: the main table's columns the SQL reads, but not the label.
            "inputs": {c: main.kind(c).value for c in query.main_columns  # type: ignore[union-attr]
                       if c != meta.get("label")},
            "required": sorted(keys | {query.time_column}),  # type: ignore[arg-type]
            "features": features,
            "feature_set_version": info.version,
        }

    def release(self, model: str, version: int, alias: str = DEFAULT_ALIAS) -> Release:
        """Point `alias` at `version` once its artifact has loaded; refused (alias unmoved) otherwise."""
        check_name(alias, "alias")
        self._check_loads(model, version, f"was not released; {alias} still points where it did")
        return self._move(model, alias, version, "release")

    def rollback(self, model: str, alias: str = DEFAULT_ALIAS, to: int | None = None) -> Release:
        """Move `alias` back: to `to`, or to where it pointed before its current release."""
        if to is None:
            stack = self.positions(model, alias)
            if len(stack) < 2:
                raise RegistryInputError(
                    f"model {model}: {alias} has no earlier release to roll back to; "
                    f"give a version with --to"
                )
            to = stack[-2]
        self._check_loads(model, to, f"cannot be rolled back to; {alias} still points where it did")
        return self._move(model, alias, to, "rollback")

    def _check_loads(self, model: str, version: int, consequence: str) -> None:
        """Refuse a version whose artifact would not load: its files must be the ones that loaded
        when it was registered (a hash check: no ML library is imported to move an alias)."""
        mv = self.get(model, version=version)
        try:
            path = self._local(mv)  # a remote artifact is downloaded now, before servers need it
            problem = damage(path)
            if problem == "":  # registered without a manifest: load it to know
                self.load(mv)
        except (MLError, OSError) as e:
            problem = f"does not load ({e})"
        if problem:
            raise ReleaseRefused(f"model {model} version {version} {consequence}: its artifact {mv.artifact_uri} "
                                 f"{problem}")

    def positions(self, model: str, alias: str) -> list[int]:
        """The alias's release stack: a release pushes, a rollback pops back to an earlier entry."""
        stack: list[int] = []
        for r in self.history(model, alias):
            if r.action == "rollback" and r.to_version in stack:
                del stack[len(stack) - 1 - stack[::-1].index(r.to_version) + 1 :]
            else:
                stack.append(r.to_version)
        return stack

    def _move(self, model: str, alias: str, version: int, action: str) -> Release:
        now = utcnow()
        with self.store.engine.begin() as conn:
            mid = self._model_id(conn, model)
            # Lock the model row so two releases of one model serialize (PostgreSQL; SQLite locks the db).
            conn.execute(select(models.c.id).where(models.c.id == mid).with_for_update())
            current = conn.execute(
                select(model_aliases.c.version).where(model_aliases.c.model_id == mid, model_aliases.c.alias == alias)
            ).scalar()
            if current == version:  # already there: no move, no history row (the rollback stack stays true)
                return Release(model, alias, action, current, version, now)
            if current is None:
                conn.execute(insert(model_aliases).values(model_id=mid, alias=alias, version=version, updated_at=now))
            else:
                conn.execute(
                    update(model_aliases)
                    .where(model_aliases.c.model_id == mid, model_aliases.c.alias == alias)
                    .values(version=version, updated_at=now)
                )
            conn.execute(
                insert(model_releases).values(
                    model_id=mid, alias=alias, action=action, from_version=current, to_version=version, created_at=now
                )
            )
        return Release(model, alias, action, current, version, now)


def _plain(value: Any) -> Any:
    """Metrics and params as JSON values (numpy scalars and the like become floats/strings)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float):  # numpy float64 too; NaN/inf are not JSON (PostgreSQL refuses them): null
        return float(value) if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if callable(getattr(value, "item", None)):  # numpy scalars: their Python value (int stays int)
        try:
            return _plain(value.item())
        except (TypeError, ValueError):
            pass
    try:
        return _plain(float(value))
    except (TypeError, ValueError):
        return str(value)
