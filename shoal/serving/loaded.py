"""One model version ready to answer requests: its bundle, feature set and request checks.

Scoring a request row is: check the row against the version's signature (naming the field that
is wrong), compute the feature set's online features for it (request mode: the row is not
stored), apply the saved preprocessing, predict. A `LoadedModel` is immutable once built, so a
request that picked one keeps using it even while the server swaps in the next version.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shoal.features.catalog import open_feature_set, open_online_store
from shoal.features.errors import RowError
from shoal.features.featureset import FeatureSet
from shoal.ml.bundle import ModelBundle
from shoal.registry import ModelVersion, Registry

_NUMERIC = {"int", "float", "bool"}


def _shown(value: Any) -> str:
    """A request value as an error message shows it: short, and never a whole (deep) container."""
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return f"an object with {len(value)} keys"
    if isinstance(value, str) and len(value) > 60:
        return f"{value[:60]!r}... ({len(value)} characters)"
    return repr(value)


@dataclass(frozen=True)
class LoadedModel:
    version: ModelVersion
    bundle: ModelBundle
    features: FeatureSet | None
    load_seconds: float

    @classmethod
    def load(cls, registry: Registry, mv: ModelVersion, previous: LoadedModel | None = None) -> LoadedModel:
        started = time.perf_counter()
        bundle = registry.load(mv)
        features = None
        if mv.feature_set is not None:
            same = previous is not None and previous.features is not None and \
                (previous.version.feature_set, previous.version.feature_set_version) == \
                (mv.feature_set, mv.feature_set_version)
            if same:
                # Same feature set version: keep its store. Re-reading the embedded store's
                # snapshot takes seconds of GIL that requests would wait for; Redis is live anyway.
                features = previous.features  # type: ignore[union-attr]
            else:
                online = open_online_store(registry.store.settings)
                _, features = open_feature_set(
                    registry.store, online, mv.feature_set, project=registry.project, version=mv.feature_set_version
                )
        return cls(mv, bundle, features, time.perf_counter() - started)

    @property
    def inputs(self) -> dict[str, str]:
        return dict(self.version.signature.get("inputs", {}))

    def check(self, row: Any) -> Mapping[str, Any]:
        """A request row for a model without a feature set: every model input, of its kind."""
        if not isinstance(row, Mapping):
            raise RowError(f"a request row is a JSON object of field values, got {type(row).__name__}", "")
        for name, kind in self.inputs.items():
            if name not in row:
                raise RowError(f"the row has no {name}, which the model needs", name)
            value = row[name]
            if value is None:
                continue
            if kind in _NUMERIC:
                if isinstance(value, str) or not isinstance(value, (int, float)):
                    raise RowError(f"{name}: expected a number, got {_shown(value)}", name)
                if isinstance(value, float) and math.isnan(value):
                    raise RowError(f"{name}: NaN is not a value; send null for a missing number", name)
                if kind == "int" and isinstance(value, float) and not value.is_integer():
                    raise RowError(f"{name}: expected an integer, got {value!r}", name)
            elif kind == "str" and not isinstance(value, str):
                raise RowError(f"{name}: expected a string, got {_shown(value)}", name)
        return row

    def score(self, rows: Sequence[Any]) -> list[float]:
        if self.features is not None:
            feats: Sequence[Mapping[str, Any]] = self.features.compute_batch(rows)
        else:
            feats = [self.check(r) for r in rows]
        return [float(s) for s in self.bundle.predict_rows(list(feats))]

    def metadata(self) -> dict[str, Any]:
        mv = self.version
        return {
            "model": mv.model, "project": mv.project, "version": mv.version, "flavor": mv.flavor,
            "feature_set": mv.feature_set, "feature_set_version": mv.feature_set_version,
            "signature": mv.signature, "metrics": mv.metrics, "created_at": mv.created_at.isoformat(),
            "load_seconds": round(self.load_seconds, 4),
        }
