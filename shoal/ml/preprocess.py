"""A preprocessing pipeline: a JSON list of steps, fitted on the training frame, replayed at serving.

    Pipeline(steps=[{"type": "fill_missing", "columns": ["age"], "strategy": "median"},
                    {"type": "standard_scale", "columns": ["age"]},
                    {"type": "one_hot", "columns": ["city"], "max_categories": 20}],
             inputs=["age", "city", "clicks"])

Two paths compute the same function:

- `transform(df)` works column-wise with numpy, for training and batch prediction;
- `transform_row(row)` works on one dict in plain Python, for the model server (one request is one
  row, and building a DataFrame for it costs far more than the model itself).

They must agree bit for bit, or a model would be served on features it was not trained on. So both
paths use only operations that IEEE 754 rounds the same way everywhere (+, -, /, comparisons,
int -> float conversion) and share scalar helpers for everything else (`_key` for categories,
`_signed_log1p`, `zlib.crc32`). numpy's vectorised `log1p` may use a SIMD implementation whose
last bit differs from libm's, which is why the `log` step maps the scalar `math.log1p` over the
column instead.

Each input column is one of two kinds, decided from the training frame's dtype:
"num" (numbers and booleans, carried as float64) or "raw" (strings, timestamps, mixed objects,
carried as Python objects). Numeric steps need "num" columns; a "raw" column must end in an
encoding step (one_hot, hash, label_encode) because the model only takes floats.

Missing values (None, NaN, NA) stay missing (NaN in the output, which xgboost and lightgbm handle)
unless a `fill_missing` step fills them; `one_hot` is the exception and gives all zeros.
"""

from __future__ import annotations

import bisect
import math
import zlib
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from shoal.ml.errors import MLError
from shoal.ml.steps import Bucketize, FillMissing, OneHot, _StepConfig, parse_step

NUM = "num"
RAW = "raw"
FORMAT_VERSION = 1
_NAN = math.nan
# Floats below this magnitude whose value is an integer get the int's text as their category key, so
# 3, 3.0 and "3" are one category whether a frame column is int or float or a request sends JSON 3.
_INT_KEY_LIMIT = 2.0**53


# Step configs (pydantic only) live in shoal.ml.steps: the task type's params use them too.


# --- shared scalar helpers (the row path and the frame path both use these) --------------------------


def _is_missing(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, (str, int)):  # the common cases, and pd.isna would be slower
        return False
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):  # a list or another container: not a missing scalar
        return False


def _key(v: Any) -> str | None:
    """The category key of a value: its text, with integral floats written as ints; None if missing."""
    if isinstance(v, str):
        return v
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if f != f:
            return None
        if f.is_integer() and abs(f) < _INT_KEY_LIMIT:
            return str(int(f))
        return repr(f)
    if _is_missing(v):
        return None
    return str(v)


def _to_float(v: Any, column: str) -> float:
    """A "num" column's value as a float; None/NaN/NA become NaN."""
    t = type(v)
    if t is float:
        return v
    if v is None:
        return _NAN
    if t is int or t is bool:
        return float(v)
    if isinstance(v, (int, float, np.number, np.bool_)):
        return float(v)
    if _is_missing(v):
        return _NAN
    raise MLError(f"column {column!r} must be a number, got {type(v).__name__} {v!r}", column=column)


def _signed_log1p(x: float) -> float:
    if x > 0:
        return math.log1p(x)
    if x < 0:
        return -math.log1p(-x)
    return x  # 0.0, -0.0 and NaN stay as they are


def _stable_hash(key: str, n_buckets: int) -> float:
    return float(zlib.crc32(key.encode("utf-8", "surrogatepass")) % n_buckets)


def _map_keys(values: np.ndarray, kind: str, fn: Callable[[str | None], Any]) -> list[Any]:
    """fn(_key(v)) for every value; numeric columns compute it once per distinct value."""
    if kind == NUM:
        uniques, inverse = np.unique(values, return_inverse=True)
        mapped = [fn(_key(u)) for u in uniques.tolist()]
        return [mapped[i] for i in inverse.tolist()]
    return [fn(_key(v)) for v in values]


def _key_counts(values: np.ndarray, kind: str) -> Counter[str]:
    return Counter(k for k in _map_keys(values, kind, lambda k: k) if k is not None)


def _top(counts: Counter[str], n: int) -> list[str]:
    """The n most frequent keys, ties broken by key, returned sorted by key (a stable column order)."""
    return sorted(sorted(counts, key=lambda k: (-counts[k], k))[:n])


# --- steps: fit per column, apply to a column, or build a per-value function for the row path -------


class _Step:
    """A fitted or unfitted step. `state` maps column -> JSON-serialisable fitted state."""

    numeric_only: ClassVar[bool] = True  # needs a "num" column
    encodes: ClassVar[bool] = False  # output is always "num" (the categorical encoders)

    def __init__(self, config: _StepConfig, state: dict[str, Any] | None = None) -> None:
        self.config = config
        self.state: dict[str, Any] = dict(state or {})

    def fit_column(self, column: str, values: np.ndarray, kind: str) -> Any:
        return None

    def apply(self, column: str, values: np.ndarray, kind: str) -> np.ndarray:
        raise NotImplementedError

    def row_fn(self, column: str, kind: str) -> Callable[[Any], Any]:
        raise NotImplementedError

    def width(self, column: str) -> int:
        return 1

    def output_names(self, column: str) -> list[str]:
        return [column]


class _FillMissingStep(_Step):
    numeric_only = False

    def fit_column(self, column: str, values: np.ndarray, kind: str) -> Any:
        cfg: FillMissing = self.config  # type: ignore[assignment]
        if cfg.strategy == "constant":
            if kind == NUM:
                if isinstance(cfg.value, str):
                    raise MLError(f"fill_missing value {cfg.value!r} for numeric column {column!r} must be a number",
                                  column=column)
                return float(cfg.value)  # type: ignore[arg-type]
            return cfg.value
        if cfg.strategy in ("mean", "median") and kind != NUM:
            raise MLError(f"fill_missing strategy {cfg.strategy!r} needs numbers but column {column!r} holds text; "
                          "use strategy 'most_frequent' or 'constant'", column=column)
        if kind == NUM:
            present = values[np.isfinite(values)] if cfg.strategy != "most_frequent" else values[~np.isnan(values)]
            if present.size == 0:  # nothing to learn from: fill with a neutral 0
                return 0.0
            if cfg.strategy == "mean":
                return float(np.mean(present))
            if cfg.strategy == "median":
                return float(np.median(present))
            uniques, counts = np.unique(present, return_counts=True)
            return float(uniques[int(np.argmax(counts))])  # argmax takes the first: the smallest value
        top = _top(_key_counts(values, kind), 1)
        return top[0] if top else ""

    def apply(self, column: str, values: np.ndarray, kind: str) -> np.ndarray:
        fill = self.state[column]
        if kind == NUM:
            return np.where(np.isnan(values), fill, values)
        out = values.copy()
        out[pd.isna(values)] = fill
        return out

    def row_fn(self, column: str, kind: str) -> Callable[[Any], Any]:
        fill = self.state[column]
        if kind == NUM:
            return lambda v: fill if v != v else v
        return lambda v: fill if _is_missing(v) else v


class _StandardScaleStep(_Step):
    def fit_column(self, column: str, values: np.ndarray, kind: str) -> Any:
        present = values[np.isfinite(values)]  # one inf would make every output NaN
        if present.size == 0:
            return {"mean": 0.0, "std": 1.0}
        std = float(np.std(present))
        return {"mean": float(np.mean(present)), "std": std if std > 0 and math.isfinite(std) else 1.0}

    def apply(self, column: str, values: np.ndarray, kind: str) -> np.ndarray:
        s = self.state[column]
        return (values - s["mean"]) / s["std"]

    def row_fn(self, column: str, kind: str) -> Callable[[Any], Any]:
        mean, std = self.state[column]["mean"], self.state[column]["std"]
        return lambda v: (v - mean) / std


class _MinMaxScaleStep(_Step):
    def fit_column(self, column: str, values: np.ndarray, kind: str) -> Any:
        present = values[np.isfinite(values)]
        if present.size == 0:
            return {"min": 0.0, "range": 0.0}
        lo, hi = float(np.min(present)), float(np.max(present))
        return {"min": lo, "range": hi - lo}

    def apply(self, column: str, values: np.ndarray, kind: str) -> np.ndarray:
        s = self.state[column]
        if s["range"] == 0:
            return np.where(np.isnan(values), _NAN, 0.0)
        return (values - s["min"]) / s["range"]

    def row_fn(self, column: str, kind: str) -> Callable[[Any], Any]:
        lo, rng = self.state[column]["min"], self.state[column]["range"]
        if rng == 0:
            return lambda v: v if v != v else 0.0
        return lambda v: (v - lo) / rng


class _LogStep(_Step):
    def apply(self, column: str, values: np.ndarray, kind: str) -> np.ndarray:
        return np.fromiter(map(_signed_log1p, values.tolist()), dtype=np.float64, count=len(values))

    def row_fn(self, column: str, kind: str) -> Callable[[Any], Any]:
        return _signed_log1p


class _BucketizeStep(_Step):
    def fit_column(self, column: str, values: np.ndarray, kind: str) -> Any:
        cfg: Bucketize = self.config  # type: ignore[assignment]
        if cfg.boundaries is not None:
            return [float(b) for b in cfg.boundaries]
        present = values[np.isfinite(values)]
        if present.size == 0:
            return []
        qs = np.quantile(present, [i / cfg.n_buckets for i in range(1, cfg.n_buckets)])  # type: ignore[operator]
        return [float(q) for q in np.unique(qs)]

    def apply(self, column: str, values: np.ndarray, kind: str) -> np.ndarray:
        bounds = np.asarray(self.state[column], dtype=np.float64)
        out = np.searchsorted(bounds, values, side="right").astype(np.float64)
        out[np.isnan(values)] = _NAN
        return out

    def row_fn(self, column: str, kind: str) -> Callable[[Any], Any]:
        bounds = self.state[column]
        return lambda v: v if v != v else float(bisect.bisect_right(bounds, v))


class _OneHotStep(_Step):
    numeric_only = False
    encodes = True

    def fit_column(self, column: str, values: np.ndarray, kind: str) -> Any:
        return _top(_key_counts(values, kind), self.config.max_categories)  # type: ignore[attr-defined]

    def apply(self, column: str, values: np.ndarray, kind: str) -> np.ndarray:
        index = {c: i for i, c in enumerate(self.state[column])}
        codes = np.asarray(_map_keys(values, kind, lambda k: index.get(k, -1)), dtype=np.int64)  # type: ignore[arg-type]
        out = np.zeros((len(values), len(index)), dtype=np.float64)
        hit = codes >= 0
        out[np.nonzero(hit)[0], codes[hit]] = 1.0
        return out

    def row_fn(self, column: str, kind: str) -> Callable[[Any], Any]:
        cats = self.state[column]
        index = {c: i for i, c in enumerate(cats)}
        zeros = [0.0] * len(cats)

        def encode(v: Any) -> list[float]:
            out = list(zeros)
            i = index.get(_key(v))  # type: ignore[arg-type]
            if i is not None:
                out[i] = 1.0
            return out

        return encode

    def width(self, column: str) -> int:
        return len(self.state[column])

    def output_names(self, column: str) -> list[str]:
        return [f"{column}={c}" for c in self.state[column]]


class _HashStep(_Step):
    numeric_only = False
    encodes = True

    def apply(self, column: str, values: np.ndarray, kind: str) -> np.ndarray:
        n = self.config.n_buckets  # type: ignore[attr-defined]
        return np.asarray(_map_keys(values, kind, lambda k: _NAN if k is None else _stable_hash(k, n)),
                          dtype=np.float64)

    def row_fn(self, column: str, kind: str) -> Callable[[Any], Any]:
        n = self.config.n_buckets  # type: ignore[attr-defined]

        def encode(v: Any) -> float:
            k = _key(v)
            return _NAN if k is None else _stable_hash(k, n)

        return encode


class _LabelEncodeStep(_Step):
    numeric_only = False
    encodes = True

    def fit_column(self, column: str, values: np.ndarray, kind: str) -> Any:
        return sorted(_key_counts(values, kind))

    def _codes(self, column: str) -> dict[str, float]:
        return {c: float(i) for i, c in enumerate(self.state[column])}

    def apply(self, column: str, values: np.ndarray, kind: str) -> np.ndarray:
        codes = self._codes(column)
        return np.asarray(_map_keys(values, kind, lambda k: _NAN if k is None else codes.get(k, -1.0)),
                          dtype=np.float64)

    def row_fn(self, column: str, kind: str) -> Callable[[Any], Any]:
        codes = self._codes(column)

        def encode(v: Any) -> float:
            k = _key(v)
            return _NAN if k is None else codes.get(k, -1.0)

        return encode


_STEP_CLASSES: dict[str, type[_Step]] = {
    "fill_missing": _FillMissingStep,
    "standard_scale": _StandardScaleStep,
    "minmax_scale": _MinMaxScaleStep,
    "log": _LogStep,
    "bucketize": _BucketizeStep,
    "one_hot": _OneHotStep,
    "hash": _HashStep,
    "label_encode": _LabelEncodeStep,
}


# --- the pipeline -----------------------------------------------------------------------------------


def _frame_kind(series: pd.Series) -> str:
    """"num" for numeric/bool dtypes and object columns holding only numbers; "raw" otherwise."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        return NUM
    if pd.api.types.is_object_dtype(dtype):
        present = [v for v in series.tolist() if not _is_missing(v)]
        if present and all(isinstance(v, (int, float, np.number, np.bool_)) for v in present):
            return NUM
    return RAW


def _column_values(df: pd.DataFrame, column: str, kind: str) -> np.ndarray:
    series = df[column]
    if kind == RAW:
        return series.to_numpy(dtype=object)
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        return series.to_numpy(dtype=np.float64, na_value=_NAN)
    # text or objects in a column that was numeric at fit time: convert value by value, like the row path
    return np.fromiter((_to_float(v, column) for v in series.tolist()), dtype=np.float64, count=len(series))


class Pipeline:
    """Preprocessing steps over the raw feature columns `inputs`; see the module docstring.

    The output has one column per input, in `inputs` order, except that `one_hot` expands a column
    in place into one column per kept category.
    """

    def __init__(self, steps: Sequence[Mapping[str, Any]], inputs: Sequence[str]) -> None:
        self.inputs = list(inputs)
        if not self.inputs:
            raise MLError("a pipeline needs at least one input column")
        dupes = sorted({c for c in self.inputs if self.inputs.count(c) > 1})
        if dupes:
            raise MLError(f"inputs list column(s) {dupes} more than once; list each column once")
        configs = [parse_step(i, raw) for i, raw in enumerate(steps)]
        known = set(self.inputs)
        expanded_by: dict[str, int] = {}
        for i, cfg in enumerate(configs):
            for col in cfg.columns:
                if col not in known:
                    raise MLError(f"step {i} ({cfg.type}) names column {col!r}, which is not in inputs "  # type: ignore[attr-defined]
                                  f"{self.inputs}; add it to inputs or remove it from the step", step=i, column=col)
                if col in expanded_by:
                    raise MLError(f"step {i} ({cfg.type}) cannot follow step {expanded_by[col]} (one_hot) on "  # type: ignore[attr-defined]
                                  f"column {col!r}: one_hot must be the last step of a column", step=i, column=col)
            if isinstance(cfg, OneHot):
                expanded_by.update(dict.fromkeys(cfg.columns, i))
        self._steps = [_STEP_CLASSES[cfg.type](cfg) for cfg in configs]  # type: ignore[attr-defined]
        self._kinds: dict[str, str] | None = None
        self.output_columns: list[str] = []
        self._row_plan: list[tuple[str, bool, list[Callable[[Any], Any]], bool]] = []

    @property
    def steps(self) -> list[dict[str, Any]]:
        """The step configs, as given (with defaults filled in)."""
        return [s.config.model_dump() for s in self._steps]

    @property
    def is_fitted(self) -> bool:
        return self._kinds is not None

    # -- fit / transform on frames --

    def _check_columns(self, df: pd.DataFrame) -> None:
        missing = [c for c in self.inputs if c not in df.columns]
        if missing:
            raise MLError(f"input column(s) {missing} are not in the frame; its columns are {list(df.columns)}",
                          columns=missing)

    def fit(self, df: pd.DataFrame) -> Pipeline:
        """Learn every step's state from `df` (the training split); returns self."""
        # IEEE results (inf - inf = NaN, overflow = inf) are the defined semantics, as in the row path,
        # which raises no warnings either
        with np.errstate(all="ignore"):
            return self._fit(df)

    def _fit(self, df: pd.DataFrame) -> Pipeline:
        self._check_columns(df)
        initial = {c: _frame_kind(df[c]) for c in self.inputs}
        kinds = dict(initial)
        values = {c: _column_values(df, c, kinds[c]) for c in self.inputs}
        for i, step in enumerate(self._steps):
            step.state = {}
            for col in step.config.columns:
                if step.numeric_only and kinds[col] != NUM:
                    raise MLError(f"step {i} ({step.config.type}) needs numbers but column {col!r} holds "  # type: ignore[attr-defined]
                                  f"{df[col].dtype} values; encode it (one_hot, hash, label_encode) instead",
                                  step=i, column=col)
                step.state[col] = step.fit_column(col, values[col], kinds[col])
                values[col] = step.apply(col, values[col], kinds[col])
                if step.encodes:
                    kinds[col] = NUM
        raw_left = [c for c in self.inputs if kinds[c] != NUM]
        if raw_left:
            raise MLError(f"column(s) {raw_left} hold text or timestamps, and a model takes numbers: add a one_hot, "
                          "hash or label_encode step for them, or drop them from inputs", columns=raw_left)
        self._kinds = initial
        self._finish()
        return self

    def _finish(self) -> None:
        """Compute output columns and the row plan from the fitted state."""
        assert self._kinds is not None
        per_column: dict[str, list[_Step]] = {c: [] for c in self.inputs}
        for step in self._steps:
            for col in step.config.columns:
                per_column[col].append(step)
        self.output_columns = []
        self._row_plan = []
        for col in self.inputs:
            kind = self._kinds[col]
            fns = []
            names = [col]
            expands = False
            for step in per_column[col]:
                fns.append(step.row_fn(col, kind))
                names = step.output_names(col)
                expands = isinstance(step, _OneHotStep)
                if step.encodes:
                    kind = NUM
            self.output_columns.extend(names)
            self._row_plan.append((col, self._kinds[col] == NUM, fns, expands))

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        """The float64 matrix (rows x output_columns) for `df`; NaN where a value is missing."""
        if self._kinds is None:
            raise MLError("the pipeline is not fitted: call fit(train_frame) or load it with Pipeline.from_json")
        self._check_columns(df)
        with np.errstate(all="ignore"):
            return self._transform(df)

    def _transform(self, df: pd.DataFrame) -> np.ndarray:
        assert self._kinds is not None
        kinds = dict(self._kinds)
        values: dict[str, np.ndarray] = {c: _column_values(df, c, kinds[c]) for c in self.inputs}
        for step in self._steps:
            for col in step.config.columns:
                values[col] = step.apply(col, values[col], kinds[col])
                if step.encodes:
                    kinds[col] = NUM
        out = np.empty((len(df), len(self.output_columns)), dtype=np.float64)
        at = 0
        for col in self.inputs:
            block = values[col]
            if block.ndim == 2:
                out[:, at:at + block.shape[1]] = block
                at += block.shape[1]
            else:
                out[:, at] = block
                at += 1
        return out

    def fit_transform(self, df: pd.DataFrame) -> np.ndarray:
        return self.fit(df).transform(df)

    def transform_row(self, row: Mapping[str, Any]) -> np.ndarray:
        """One row (a dict of raw values) -> its 1-D feature vector; equals the row of `transform`.

        A key absent from `row` counts as a missing value.
        """
        if self._kinds is None:
            raise MLError("the pipeline is not fitted: call fit(train_frame) or load it with Pipeline.from_json")
        out: list[float] = []
        for col, is_num, fns, expands in self._row_plan:
            v = row.get(col)
            if is_num:
                v = _to_float(v, col)
            for fn in fns:
                v = fn(v)
            if expands:
                out.extend(v)
            else:
                out.append(v)
        return np.array(out, dtype=np.float64)

    # -- persistence --

    def to_json(self) -> dict[str, Any]:
        """The config and fitted state as plain JSON types; `Pipeline.from_json` reverses it."""
        if self._kinds is None:
            raise MLError("the pipeline is not fitted: fit it before saving")
        return {
            "version": FORMAT_VERSION,
            "inputs": list(self.inputs),
            "kinds": dict(self._kinds),
            "steps": [{**s.config.model_dump(), "state": s.state} for s in self._steps],
            "outputs": list(self.output_columns),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Pipeline:
        """Rebuild a fitted pipeline saved by `to_json`."""
        try:
            version = data.get("version", FORMAT_VERSION)
            if version > FORMAT_VERSION:
                raise MLError(f"pipeline format version {version} is newer than this shoal ({FORMAT_VERSION}); "
                              "upgrade shoal to load it")
            steps = [{k: v for k, v in s.items() if k != "state"} for s in data["steps"]]
            pipe = cls(steps, data["inputs"])
            for step, saved in zip(pipe._steps, data["steps"], strict=True):
                step.state = dict(saved["state"])
            pipe._kinds = {c: data["kinds"][c] for c in pipe.inputs}
            pipe._finish()
        except (KeyError, TypeError, AttributeError) as exc:
            raise MLError(f"saved pipeline is malformed ({type(exc).__name__}: {exc}); "
                          "re-run the preprocess task") from None
        if pipe.output_columns != list(data.get("outputs", pipe.output_columns)):
            raise MLError("saved pipeline is inconsistent: its outputs do not match its steps; re-run preprocess")
        return pipe

    def __repr__(self) -> str:
        types = [s.config.type for s in self._steps]  # type: ignore[attr-defined]
        return f"Pipeline(inputs={self.inputs}, steps={types}, fitted={self.is_fitted})"
