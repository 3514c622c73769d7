"""The evaluation report: curves with the right shape and size, confusion counts at the threshold,
feature importance by each flavor, and a report the registry accepts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from shoal.ml.errors import MLError
from shoal.ml.evaluation import MAX_POINTS, report, thin
from shoal.ml.train import train
from shoal.registry.evaluation import MAX_BYTES, check_evaluation


def test_a_perfect_classifier_has_the_corner_roc_and_a_flat_pr_curve() -> None:
    r = report([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    assert r["auc"] == 1.0 and r["average_precision"] == 1.0
    points = list(zip(r["roc"]["fpr"], r["roc"]["tpr"], strict=True))
    assert points[0] == (0.0, 0.0) and points[-1] == (1.0, 1.0) and (0.0, 1.0) in points
    assert all(f == 0.0 or t == 1.0 for f, t in points)  # up the left edge, then along the top
    assert r["pr"]["recall"] == sorted(r["pr"]["recall"])  # left to right
    pr = list(zip(r["pr"]["recall"], r["pr"]["precision"], strict=True))
    assert (1.0, 1.0) in pr and all(p == 1.0 for rc, p in pr if rc < 1)  # all found before any mistake
    assert r["confusion"] == {"tn": 2, "fp": 0, "fn": 0, "tp": 2}
    assert (r["rows"], r["positives"], r["threshold"]) == (4, 2, 0.5)


def test_pr_points_match_hand_computed_precision_and_recall() -> None:
    # scores high to low: 0.8 (1), 0.6 (0), 0.4 (1), 0.1 (0)
    r = report([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.8])
    pr = set(zip(r["pr"]["recall"], r["pr"]["precision"], strict=True))
    # threshold 0.8: 1 of 2 found, 1 of 1 right; 0.6: 1/2, 1/2; 0.4: 2/2, 2/3; 0.1: 2/2, 2/4
    assert {(0.5, 1.0), (0.5, 0.5), (1.0, 0.6667), (1.0, 0.5)} <= pr
    assert r["auc"] == 0.75


def test_confusion_counts_follow_the_threshold() -> None:
    y = [0, 0, 0, 1, 1, 1]
    s = [0.1, 0.4, 0.7, 0.3, 0.6, 0.9]
    assert report(y, s)["confusion"] == {"tn": 2, "fp": 1, "fn": 1, "tp": 2}
    assert report(y, s, threshold=0.2)["confusion"] == {"tn": 1, "fp": 2, "fn": 0, "tp": 3}
    assert report(y, s, threshold=0.95)["confusion"] == {"tn": 3, "fp": 0, "fn": 3, "tp": 0}
    # a score equal to the threshold predicts 1, as the metrics count it
    assert report(y, s, threshold=0.6)["confusion"] == {"tn": 2, "fp": 1, "fn": 1, "tp": 2}
    assert report(y, s, threshold=0.61)["confusion"] == {"tn": 2, "fp": 1, "fn": 2, "tp": 1}


def test_big_evaluations_give_small_curves_that_keep_their_shape() -> None:
    rng = np.random.default_rng(0)
    n = 100_000
    y = (rng.random(n) < 0.03).astype(float)
    s = np.clip(0.35 * y + 0.65 * rng.random(n), 0, 1)
    r = report(y, s)
    for curve in ("roc", "pr"):
        xs, ys = r[curve].values()
        assert 2 < len(xs) <= MAX_POINTS and len(xs) == len(ys)
    assert r["roc"]["fpr"][0] == 0.0 and r["roc"]["tpr"][-1] == 1.0
    assert r["roc"]["fpr"] == sorted(r["roc"]["fpr"]) and r["roc"]["tpr"] == sorted(r["roc"]["tpr"])
    # The thinned curve's area is the AUC (the trapezoids of a thinned ROC stay close to it).
    assert np.trapezoid(r["roc"]["tpr"], r["roc"]["fpr"]) == pytest.approx(r["auc"], abs=0.01)
    assert sum(r["confusion"].values()) == n
    assert len(json.dumps(r)) < 50_000
    check_evaluation(r)


def test_thin_keeps_the_ends_and_spreads_points_along_the_curve() -> None:
    # a curve whose points crowd at one end: thinning by index would keep only that end
    x = np.concatenate([np.linspace(0, 0.01, 10_000), np.linspace(0.01, 1, 10)])
    y = np.sqrt(x)
    tx, ty = thin(x, y, 50)
    assert len(tx) <= 50 and (tx[0], tx[-1]) == (0.0, 1.0)
    assert (tx > 0.5).sum() >= 4  # the long straight part kept points too
    assert thin(x[:5], y[:5], 50)[0].tolist() == x[:5].tolist()  # short curves stay as they are
    with pytest.raises(MLError, match="at least 2"):
        thin(x, y, 1)


def test_regression_reports_a_residual_histogram_and_a_sample() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(size=5000)
    predicted = y + rng.normal(scale=0.1, size=5000)
    r = report(y, predicted, objective="regression")
    assert r["objective"] == "regression" and r["rows"] == 5000
    assert sum(r["residuals"]["counts"]) == 5000 and len(r["residuals"]["edges"]) == len(r["residuals"]["counts"]) + 1
    sample = r["predicted_vs_actual"]
    assert len(sample["actual"]) == len(sample["predicted"]) == MAX_POINTS
    assert r == report(y, predicted, objective="regression")  # the same sample each time: the same picture
    assert r["rmse"] == pytest.approx(0.1, rel=0.05)
    check_evaluation(r)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(MLError, match="both classes"):
        report([1, 1], [0.2, 0.3])
    with pytest.raises(MLError, match="one score per label"):
        report([0, 1], [0.5])
    with pytest.raises(MLError, match="objective"):
        report([0, 1], [0.5, 0.5], objective="ranking")  # type: ignore[arg-type]


def _features(n: int = 1500) -> tuple[np.ndarray, np.ndarray]:
    """Feature 0 decides the label, feature 1 helps, feature 2 is noise."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(n, 3))
    y = (3 * X[:, 0] + X[:, 1] + rng.normal(scale=0.5, size=n) > 0).astype(float)
    return X, y


@pytest.mark.parametrize(("algorithm", "kind"), [("xgboost", "gain"), ("lightgbm", "gain"),
                                                  ("lr", "abs_coefficient")])
def test_importance_ranks_the_deciding_feature_first(algorithm: str, kind: str) -> None:
    X, y = _features()
    params = {"num_boost_round": 20, "max_depth": 3} if algorithm != "lr" else {}
    if algorithm == "lightgbm":
        params["min_data_in_leaf"] = 5
    result = train(algorithm, X, y, params=params, feature_names=["decides", "helps", "noise"])  # type: ignore[arg-type]
    r = report(y, result.model.predict(X), model=result.model)
    imp = r["importance"]
    assert imp["kind"] == kind
    names = [f["feature"] for f in imp["features"]]
    values = [f["value"] for f in imp["features"]]
    assert names[:2] == ["decides", "helps"] and values == sorted(values, reverse=True)
    check_evaluation(r)


def test_importance_keeps_the_top_30_and_is_absent_where_the_flavor_has_none() -> None:
    rng = np.random.default_rng(4)
    X = rng.normal(size=(800, 40))
    y = (X[:, :5].sum(axis=1) > 0).astype(float)
    lr = train("lr", X, y, feature_names=[f"x{i}" for i in range(40)]).model
    feats = report(y, lr.predict(X), model=lr)["importance"]["features"]
    assert len(feats) == 30 and {f["feature"] for f in feats[:5]} == {f"x{i}" for i in range(5)}
    gbdt = train("gbdt", X, y, params={"max_iter": 5}).model  # HistGradientBoosting has no importance
    assert "importance" not in report(y, gbdt.predict(X), model=gbdt)


def test_the_registry_refuses_a_report_it_cannot_draw() -> None:
    from shoal.registry.errors import RegistryInputError

    good = report([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    cases = [
        ([1, 2], "must be a JSON object"),
        ({**good, "roc_auc": 1}, "unknown keys roc_auc"),
        ({**good, "format": 2}, "evaluation.format"),
        ({**good, "objective": "ranking"}, "evaluation.objective"),
        ({**good, "roc": {"fpr": [0, 1], "tpr": [0]}}, "2 fpr values but 1 tpr"),
        ({**good, "roc": {"fpr": [0, "x"], "tpr": [0, 1]}}, r"evaluation.roc.fpr\[1\] must be a finite number"),
        ({**good, "confusion": {"tn": 1, "fp": -1, "fn": 0, "tp": 1}}, "evaluation.confusion.fp"),
        ({**good, "confusion": {"tn": 1, "fp": 1}}, "missing fn, tp"),
        ({**good, "importance": {"kind": "gain", "features": [{"feature": "a"}]}}, r"features\[0\]"),
        ({**good, "auc": float("nan")}, "not plain JSON"),
        ({**good, "pr": {"recall": [0.5] * 1001, "precision": [0.5] * 1001}}, "at most 1000"),
    ]
    for doc, words in cases:
        with pytest.raises(RegistryInputError, match=words):
            check_evaluation(doc)
    huge = {**good, "importance": {"kind": "gain", "features": [{"feature": "f" * 2000, "value": 1}] * 40}}
    with pytest.raises(RegistryInputError, match=f"at most {MAX_BYTES}"):
        check_evaluation(huge)
