"""Offline evaluation metrics, as plain floats (rounded to 6 digits) ready for the model registry."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from sklearn import metrics as skm

from shoal.ml.errors import MLError

_EPS = 1e-15  # scores are clipped to [eps, 1-eps] so one confident mistake gives a large, finite logloss


def _r(x: float) -> float:
    return round(float(x), 6)


def checked_inputs(y_true: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    """Labels and scores as float arrays of one length, or MLError saying what is wrong."""
    y = np.asarray(y_true, dtype=np.float64).reshape(-1)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(y) != len(s):
        raise MLError(f"y_true has {len(y)} values but scores has {len(s)}; give one score per label")
    if len(y) == 0:
        raise MLError("no rows to evaluate; check the test split is not empty")
    if np.isnan(y).any() or np.isnan(s).any():
        raise MLError("labels or scores contain NaN; drop unlabeled rows and check the model's inputs")
    return y, s


def evaluate(
    y_true: Any,
    scores: Any,
    *,
    objective: Literal["binary", "regression"] = "binary",
    threshold: float = 0.5,
) -> dict[str, float]:
    """Metrics of `scores` against `y_true`.

    binary: auc, logloss, accuracy, precision, recall, f1 (a score >= threshold predicts 1),
    positives (count of 1 labels), rows. regression: rmse, mae, r2, rows.
    """
    y, s = checked_inputs(y_true, scores)
    if objective == "regression":
        return {
            "rmse": _r(np.sqrt(skm.mean_squared_error(y, s))),
            "mae": _r(skm.mean_absolute_error(y, s)),
            "r2": _r(skm.r2_score(y, s)) if len(y) > 1 else float("nan"),
            "rows": float(len(y)),
        }
    if objective != "binary":
        raise MLError(f"unknown objective {objective!r}; use 'binary' or 'regression'")
    if not np.isin(y, (0.0, 1.0)).all():
        raise MLError("binary labels must be 0 or 1; map them first or evaluate with objective='regression'")
    if len(np.unique(y)) < 2:
        raise MLError(f"AUC needs both classes in y_true, but every label is {int(y[0])}; evaluate on a larger or "
                      "time-wider test split")
    y_int = y.astype(np.int64)
    predicted = (s >= threshold).astype(np.int64)
    return {
        "auc": _r(skm.roc_auc_score(y_int, s)),
        "logloss": _r(skm.log_loss(y_int, np.clip(s, _EPS, 1 - _EPS), labels=[0, 1])),
        "accuracy": _r(skm.accuracy_score(y_int, predicted)),
        "precision": _r(skm.precision_score(y_int, predicted, zero_division=0)),
        "recall": _r(skm.recall_score(y_int, predicted, zero_division=0)),
        "f1": _r(skm.f1_score(y_int, predicted, zero_division=0)),
        "positives": float(int(y_int.sum())),
        "rows": float(len(y)),
    }
