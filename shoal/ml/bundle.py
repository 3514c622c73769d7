"""A model bundle: everything a model version's artifact directory holds, and all serving needs.

    <directory>/
        bundle.json     meta (flavor, objective, algorithm, label, inputs, features, params,
                        best_iteration, input_kinds) + "preprocess": the fitted Pipeline or null
        flavor.json     the flavor's own small meta
        model.ubj | model.txt | model.pkl | w2v.model     the library's model file

Serving calls `predict_rows` with request dicts of raw inputs; batch prediction calls
`predict_frame`. Both go through the same fitted pipeline, so they agree with training.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shoal.ml.errors import MLError
from shoal.ml.flavors import Model, load_model
from shoal.ml.preprocess import Pipeline, _to_float
from shoal.ml.train import TrainResult

BUNDLE_FILE = "bundle.json"
FORMAT_VERSION = 1
_META_KEYS = ("flavor", "objective", "algorithm", "label", "inputs", "features", "params", "best_iteration",
              "input_kinds")


def input_kind(series: pd.Series) -> str:
    """"int" | "float" | "str" | "bool" | "timestamp": what serving expects a request to send for this column."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "timestamp"
    inferred = pd.api.types.infer_dtype(series, skipna=True)
    return {"integer": "int", "floating": "float", "mixed-integer-float": "float", "decimal": "float",
            "boolean": "bool", "datetime": "timestamp", "datetime64": "timestamp", "date": "timestamp"}.get(
        inferred, "str")


class ModelBundle:
    """A trained model, its fitted preprocessing (or None) and its meta; see the module docstring."""

    def __init__(self, model: Model, pipeline: Pipeline | None, meta: Mapping[str, Any]) -> None:
        missing = [k for k in ("inputs", "features") if k not in meta]
        if missing:
            raise MLError(f"bundle meta lacks {missing}; build bundles with build_bundle(...)")
        self.model = model
        self.pipeline = pipeline
        self.meta = {"flavor": model.flavor, "objective": model.objective, **meta}
        self.inputs: list[str] = list(self.meta["inputs"])
        self._is_embedding = model.flavor == "word2vec"

    # -- prediction --

    def predict_rows(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Scores for request rows (dicts of raw input values); a missing key is a missing value."""
        if self._is_embedding:
            return self.model.predict([row.get(self.inputs[0]) for row in rows])
        if not rows:
            return np.empty(0, dtype=np.float64)
        if self.pipeline is not None:
            X = np.vstack([self.pipeline.transform_row(row) for row in rows])
        else:
            X = np.array([[_to_float(row.get(c), c) for c in self.inputs] for row in rows], dtype=np.float64)
        return self.model.predict(X)

    def predict_frame(self, df: pd.DataFrame) -> np.ndarray:
        """Scores for every row of a frame holding the input columns."""
        missing = [c for c in self.inputs if c not in df.columns]
        if missing:
            raise MLError(f"input column(s) {missing} are not in the frame; the model needs {self.inputs}",
                          columns=missing)
        if self._is_embedding:
            return self.model.predict(df[self.inputs[0]])
        if self.pipeline is not None:
            X = self.pipeline.transform(df)
        else:
            X = np.column_stack([np.fromiter((_to_float(v, c) for v in df[c].tolist()), np.float64, len(df))
                                 for c in self.inputs]) if len(df) else np.empty((0, len(self.inputs)))
        if len(X) == 0:
            return np.empty(0, dtype=np.float64)
        return self.model.predict(X)

    # -- persistence --

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write the bundle into `directory` (give a fresh one; the registry moves it into place)."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        self.model.save(out)
        doc = {"format_version": FORMAT_VERSION, **self.meta,
               "preprocess": self.pipeline.to_json() if self.pipeline is not None else None}
        tmp = out / f".{BUNDLE_FILE}.tmp"
        # default=str: sklearn params may hold non-JSON values (e.g. numpy scalars); their text is enough here
        tmp.write_text(json.dumps(doc, indent=2, default=str))
        os.replace(tmp, out / BUNDLE_FILE)  # bundle.json last: its presence means the bundle is complete
        return out

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> ModelBundle:
        """Load a saved bundle; MLError (never another exception) if anything is missing or corrupt."""
        src = Path(directory)
        path = src / BUNDLE_FILE
        try:
            doc = json.loads(path.read_text())
        except FileNotFoundError:
            raise MLError(f"{path} is missing: {src} is not a complete model bundle", path=str(src)) from None
        except (OSError, ValueError) as exc:
            raise MLError(f"{path} is unreadable ({exc}); the artifact is corrupt", path=str(src)) from None
        if not isinstance(doc, dict) or "flavor" not in doc:
            raise MLError(f"{path} is not a model bundle (no 'flavor')", path=str(src))
        if doc.get("format_version", FORMAT_VERSION) > FORMAT_VERSION:
            raise MLError(f"{path} was written by a newer shoal (format {doc['format_version']}); upgrade shoal")
        try:
            model = load_model(doc["flavor"], src)
            pipeline = Pipeline.from_json(doc["preprocess"]) if doc.get("preprocess") else None
            meta = {k: doc[k] for k in _META_KEYS if k in doc}
            return cls(model, pipeline, meta)
        except MLError:
            raise
        except Exception as exc:  # a library's own error on a corrupt file: callers rely on MLError only
            raise MLError(f"cannot load the model bundle in {src}: {type(exc).__name__}: {exc}",
                          path=str(src)) from exc

    def __repr__(self) -> str:
        return f"ModelBundle(flavor={self.meta['flavor']!r}, algorithm={self.meta.get('algorithm')!r}, " \
               f"inputs={self.inputs})"


def build_bundle(
    result: TrainResult | Model,
    *,
    algorithm: str,
    label: str | None,
    frame: pd.DataFrame,
    pipeline: Pipeline | None = None,
    inputs: Sequence[str] | None = None,
) -> ModelBundle:
    """Assemble a bundle after training.

    `frame` is the training frame (raw columns): it gives each input's kind for request checks.
    `inputs` defaults to the pipeline's inputs; without a pipeline it must be given (the model's
    columns, in order).
    """
    model = result.model if isinstance(result, TrainResult) else result
    params = result.params if isinstance(result, TrainResult) else {}
    if inputs is None:
        if pipeline is None:
            raise MLError("build_bundle needs inputs=[...] when there is no preprocessing pipeline")
        inputs = pipeline.inputs
    inputs = list(inputs)
    missing = [c for c in inputs if c not in frame.columns]
    if missing:
        raise MLError(f"input column(s) {missing} are not in the training frame", columns=missing)
    meta = {
        "algorithm": algorithm,
        "label": label,
        "inputs": inputs,
        "features": list(pipeline.output_columns) if pipeline is not None else inputs,
        "params": params,
        "best_iteration": model.best_iteration,
        "input_kinds": {c: input_kind(frame[c]) for c in inputs},
    }
    return ModelBundle(model, pipeline, meta)
