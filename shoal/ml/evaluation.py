"""An evaluation report: the pictures of a model's quality, as small plain JSON.

`evaluate` (the task) writes it beside its metrics and `release` stores it with the model
version, where the web UI draws it. Binary classification:

    {"format": 1, "objective": "binary", "rows": 30000, "positives": 100, "threshold": 0.5,
     "auc": 0.91, "average_precision": 0.12,
     "roc": {"fpr": [...], "tpr": [...]},              # from (0, 0) to (1, 1)
     "pr": {"recall": [...], "precision": [...]},      # recall ascending
     "confusion": {"tn": 29890, "fp": 10, "fn": 80, "tp": 20},   # a score >= threshold predicts 1
     "importance": {"kind": "gain", "features": [{"feature": "app", "value": 812.5}, ...]}}

Regression: `rows`, `rmse`, `residuals` (a histogram of actual - predicted: `edges`, `counts`),
`predicted_vs_actual` (a sample of at most 200 rows: `actual`, `predicted`), `importance`.

Curves keep at most `max_points` points, chosen evenly along the curve's length (so the bends,
where a picture needs them, keep their points) with both ends kept; coordinates are rounded to
4 digits. With 30 features the whole report is a few kilobytes (`shoal.registry.evaluation`
refuses one over 64 KiB).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from sklearn import metrics as skm

from shoal.ml.errors import MLError
from shoal.ml.flavors import Model
from shoal.ml.metrics import checked_inputs

FORMAT = 1
MAX_POINTS = 200
TOP_FEATURES = 30
HISTOGRAM_BINS = 20
_DIGITS = 4


def thin(x: np.ndarray, y: np.ndarray, limit: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most `limit` points of the polyline (x, y), spread evenly along its length, ends kept."""
    if limit < 2:
        raise MLError(f"a curve needs at least 2 points, not {limit}")
    n = len(x)
    if n <= limit:
        return x, y
    along = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(x), np.diff(y)))])
    if along[-1] == 0:  # every point at one place
        return x[[0, -1]], y[[0, -1]]
    idx = np.unique(np.searchsorted(along, np.linspace(0.0, along[-1], limit)).clip(0, n - 1))
    idx[0], idx[-1] = 0, n - 1  # searchsorted never drops the ends, but say so
    return x[idx], y[idx]


def _points(values: np.ndarray) -> list[float]:
    return [round(float(v), _DIGITS) for v in values]


def _sig(value: float) -> float:
    """6 significant digits: gains run into the thousands, coefficients into the thousandths."""
    return float(f"{float(value):.6g}")


def importance(model: Model, top: int = TOP_FEATURES) -> dict[str, Any] | None:
    """The model's `top` most important features, most important first, or None when its flavor
    has no importance measure. Ties keep the features' order."""
    got = model.importance()
    if got is None:
        return None
    kind, values = got
    finite = [(name, v) for name, v in values.items() if np.isfinite(v)]
    ranked = sorted(finite, key=lambda kv: -kv[1])[:top]
    return {"kind": kind, "features": [{"feature": str(name), "value": _sig(v)} for name, v in ranked]}


def report(
    y_true: Any,
    scores: Any,
    *,
    objective: Literal["binary", "regression"] = "binary",
    threshold: float = 0.5,
    model: Model | None = None,
    max_points: int = MAX_POINTS,
) -> dict[str, Any]:
    """The evaluation report of `scores` against `y_true` (see the module docstring); with
    `model`, its feature importance too. Inputs are checked as `shoal.ml.metrics.evaluate` does."""
    y, s = checked_inputs(y_true, scores)
    if objective == "binary":
        out = _binary(y, s, threshold, max_points)
    elif objective == "regression":
        out = _regression(y, s, max_points)
    else:
        raise MLError(f"unknown objective {objective!r}; use 'binary' or 'regression'")
    if model is not None and (imp := importance(model)) is not None:
        out["importance"] = imp
    return out


def _binary(y: np.ndarray, s: np.ndarray, threshold: float, max_points: int) -> dict[str, Any]:
    if not np.isin(y, (0.0, 1.0)).all():
        raise MLError("binary labels must be 0 or 1; map them first or evaluate with objective='regression'")
    if len(np.unique(y)) < 2:
        raise MLError(f"ROC and PR curves need both classes in y_true, but every label is {int(y[0])}; "
                      "evaluate on a larger or time-wider test split")
    yi = y.astype(np.int64)
    fpr, tpr, _ = skm.roc_curve(yi, s, drop_intermediate=True)
    fpr, tpr = thin(fpr, tpr, max_points)
    precision, recall, _ = skm.precision_recall_curve(yi, s)
    # sklearn lists recall from 1 down to 0; a chart reads left to right
    recall, precision = thin(recall[::-1], precision[::-1], max_points)
    predicted = s >= threshold
    positive = yi == 1
    return {
        "format": FORMAT,
        "objective": "binary",
        "rows": int(len(y)),
        "positives": int(positive.sum()),
        "threshold": float(threshold),
        "auc": round(float(skm.roc_auc_score(yi, s)), 6),
        "average_precision": round(float(skm.average_precision_score(yi, s)), 6),
        "roc": {"fpr": _points(fpr), "tpr": _points(tpr)},
        "pr": {"recall": _points(recall), "precision": _points(precision)},
        "confusion": {
            "tn": int((~predicted & ~positive).sum()),
            "fp": int((predicted & ~positive).sum()),
            "fn": int((~predicted & positive).sum()),
            "tp": int((predicted & positive).sum()),
        },
    }


def _regression(y: np.ndarray, s: np.ndarray, max_points: int) -> dict[str, Any]:
    residuals = y - s
    counts, edges = np.histogram(residuals, bins=HISTOGRAM_BINS)
    # A fixed seed: the same evaluation gives the same sample, so the same picture.
    keep = np.sort(np.random.default_rng(0).choice(len(y), size=min(len(y), max_points), replace=False))
    return {
        "format": FORMAT,
        "objective": "regression",
        "rows": int(len(y)),
        "rmse": _sig(np.sqrt(np.mean(residuals ** 2))),
        "residuals": {"edges": [_sig(e) for e in edges], "counts": [int(c) for c in counts]},
        "predicted_vs_actual": {"actual": [_sig(v) for v in y[keep]], "predicted": [_sig(v) for v in s[keep]]},
    }
