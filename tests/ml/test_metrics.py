from __future__ import annotations

import math

import pytest

from shoal.ml.errors import MLError
from shoal.ml.metrics import evaluate


def test_binary_metrics_match_hand_computed_values():
    y = [0, 0, 1, 1]
    s = [0.1, 0.6, 0.4, 0.8]
    m = evaluate(y, s)
    # pairs (pos, neg): (0.4>0.1) (0.4<0.6) (0.8>0.1) (0.8>0.6) -> 3 of 4
    assert m["auc"] == 0.75
    assert m["logloss"] == round(-(math.log(0.9) + math.log(0.4) + math.log(0.4) + math.log(0.8)) / 4, 6)
    # predicted at 0.5: [0, 1, 0, 1] -> tp=1 fp=1 fn=1 tn=1
    assert (m["accuracy"], m["precision"], m["recall"], m["f1"]) == (0.5, 0.5, 0.5, 0.5)
    assert (m["positives"], m["rows"]) == (2.0, 4.0)
    assert all(type(v) is float for v in m.values())
    assert evaluate(y, s, threshold=0.3)["recall"] == 1.0


def test_regression_metrics_match_hand_computed_values():
    m = evaluate([1.0, 2.0, 3.0], [1.0, 2.0, 5.0], objective="regression")
    assert m["rmse"] == round(math.sqrt(4 / 3), 6)
    assert m["mae"] == round(2 / 3, 6)
    assert m["r2"] == round(1 - 4 / 2, 6)  # ss_res 4, ss_tot 2
    assert m["rows"] == 3.0


def test_auc_needs_both_classes():
    with pytest.raises(MLError, match="AUC needs both classes"):
        evaluate([1, 1, 1], [0.2, 0.5, 0.9])


def test_bad_metric_inputs():
    with pytest.raises(MLError, match="one score per label"):
        evaluate([0, 1], [0.5])
    with pytest.raises(MLError, match="must be 0 or 1"):
        evaluate([0, 2], [0.5, 0.5])
    with pytest.raises(MLError, match="no rows"):
        evaluate([], [])
