"""Every algorithm learns a learnable problem, early stopping stops early, and save/load is exact."""

from __future__ import annotations

import numpy as np
import pytest

from shoal.ml.errors import MLError
from shoal.ml.flavors import load_model
from shoal.ml.metrics import evaluate
from shoal.ml.train import train

# small, fast settings per algorithm; the point is that each trains and predicts correctly
FAST_PARAMS = {
    "xgboost": {"max_depth": 3, "eta": 0.2, "num_boost_round": 60, "nthread": 1},
    "lightgbm": {"num_leaves": 8, "learning_rate": 0.2, "num_boost_round": 60, "num_threads": 1},
    "lr": {},
    "gbdt": {"max_iter": 60, "learning_rate": 0.2},
    "mlp": {"hidden_layer_sizes": [16], "max_iter": 60, "learning_rate_init": 0.01},
}
TABULAR = list(FAST_PARAMS)


def auc(model, data):
    return evaluate(data["y_test"], model.predict(data["X_test"]))["auc"]


@pytest.mark.parametrize("algorithm", TABULAR)
def test_binary_learns_and_round_trips(algorithm, binary_data, tmp_path):
    # mlp trains with validation early stopping here: sklearn's plain fit warns when it hits max_iter
    rounds = 5 if algorithm == "mlp" else None
    result = train(algorithm, binary_data["X"], binary_data["y"], X_valid=binary_data["X_valid"],
                   y_valid=binary_data["y_valid"], params=FAST_PARAMS[algorithm], early_stopping_rounds=rounds,
                   feature_names=[f"f{i}" for i in range(5)])
    model = result.model
    assert auc(model, binary_data) > 0.8
    scores = model.predict(binary_data["X_test"])
    assert scores.shape == (300,) and ((scores >= 0) & (scores <= 1)).all()
    assert result.seconds > 0 and isinstance(result.params, dict)

    model.save(tmp_path)
    loaded = load_model(model.flavor, tmp_path)
    assert loaded.objective == "binary" and loaded.feature_names == [f"f{i}" for i in range(5)]
    np.testing.assert_array_equal(loaded.predict(binary_data["X_test"]), scores)
    # the serving case: one row, as a 2-D float64 matrix and as a 1-D vector
    # (BLAS may round a 1-row product differently from a batch by an ulp: LR/MLP agree to 1e-12 only)
    one = binary_data["X_test"][:1]
    assert loaded.predict(one).shape == (1,)
    np.testing.assert_allclose(loaded.predict(one), scores[:1], rtol=1e-12)
    np.testing.assert_allclose(loaded.predict(one[0]), scores[:1], rtol=1e-12)


@pytest.mark.parametrize("algorithm", ["xgboost", "lr", "lightgbm"])
def test_regression(algorithm, regression_data, tmp_path):
    params = {k: v for k, v in FAST_PARAMS[algorithm].items()}
    result = train(algorithm, regression_data["X"], regression_data["y"], objective="regression", params=params)
    pred = result.model.predict(regression_data["X_test"])
    metrics = evaluate(regression_data["y_test"], pred, objective="regression")
    assert metrics["r2"] > 0.9
    result.model.save(tmp_path)
    np.testing.assert_array_equal(load_model(result.model.flavor, tmp_path).predict(regression_data["X_test"]), pred)


@pytest.mark.parametrize("algorithm, params, max_rounds", [
    ("xgboost", {"max_depth": 8, "eta": 0.5, "num_boost_round": 200, "nthread": 1}, 200),
    ("lightgbm", {"num_leaves": 63, "min_data_in_leaf": 1, "learning_rate": 0.5, "num_boost_round": 200,
                  "num_threads": 1}, 200),
    ("gbdt", {"max_iter": 200, "learning_rate": 0.5, "max_leaf_nodes": 63, "min_samples_leaf": 1}, 200),
    ("mlp", {"hidden_layer_sizes": [128], "max_iter": 200, "learning_rate_init": 0.05}, 200),
])
def test_early_stopping_stops_on_an_overfitting_setup(algorithm, params, max_rounds, binary_data, tmp_path):
    # few rows + high capacity + fast learning: validation loss turns up after a handful of rounds
    X, y = binary_data["X"][:200], binary_data["y"][:200]
    result = train(algorithm, X, y, X_valid=binary_data["X_valid"], y_valid=binary_data["y_valid"], params=params,
                   early_stopping_rounds=5)
    assert result.best_iteration is not None and 0 <= result.best_iteration < max_rounds - 5
    assert result.model.best_iteration == result.best_iteration
    pred = result.model.predict(binary_data["X_test"])
    result.model.save(tmp_path)
    loaded = load_model(result.model.flavor, tmp_path)
    assert loaded.best_iteration == result.best_iteration
    np.testing.assert_array_equal(loaded.predict(binary_data["X_test"]), pred)


def test_xgboost_predicts_with_the_best_iteration(binary_data):
    params = {"max_depth": 8, "eta": 0.5, "num_boost_round": 200, "nthread": 1}
    X, y = binary_data["X"][:200], binary_data["y"][:200]
    result = train("xgboost", X, y, X_valid=binary_data["X_valid"], y_valid=binary_data["y_valid"], params=params,
                   early_stopping_rounds=5)
    best = result.best_iteration
    booster = result.model.booster
    expected = booster.inplace_predict(binary_data["X_test"], iteration_range=(0, best + 1))
    np.testing.assert_array_equal(result.model.predict(binary_data["X_test"]), expected)
    assert not np.array_equal(booster.inplace_predict(binary_data["X_test"]), expected)


def test_training_is_deterministic(binary_data):
    a = train("lightgbm", binary_data["X"], binary_data["y"], params=FAST_PARAMS["lightgbm"], seed=7)
    b = train("lightgbm", binary_data["X"], binary_data["y"], params=FAST_PARAMS["lightgbm"], seed=7)
    np.testing.assert_array_equal(a.model.predict(binary_data["X_test"]), b.model.predict(binary_data["X_test"]))


def test_nan_tolerant_algorithms_take_missing_values(binary_data):
    X = binary_data["X"].copy()
    X[::7, 0] = np.nan
    for algorithm in ("xgboost", "lightgbm", "gbdt"):
        result = train(algorithm, X, binary_data["y"], params=FAST_PARAMS[algorithm])
        assert auc(result.model, binary_data) > 0.8


# --- word2vec --------------------------------------------------------------------------------------


def w2v_corpus(n: int = 600) -> list[list[str]]:
    """Two topics whose tokens co-occur only with each other."""
    rng = np.random.default_rng(0)
    fruit, tools = ["apple", "pear", "plum", "fig"], ["hammer", "saw", "drill", "wrench"]
    return [list(rng.choice(fruit if i % 2 else tools, size=6)) for i in range(n)]


def test_word2vec_learns_co_occurrence(tmp_path):
    params = {"vector_size": 16, "window": 3, "min_count": 1, "epochs": 20}
    result = train("word2vec", w2v_corpus(), None, params=params)
    model = result.model
    sim = model.w2v.wv.similarity
    assert sim("apple", "pear") > sim("apple", "hammer") + 0.3
    assert {t for t, _ in model.most_similar("saw", 3)} == {"hammer", "drill", "wrench"}
    vecs = model.predict([["apple", "pear"], "hammer saw", ["unknown"]])
    assert vecs.shape == (3, 16)
    np.testing.assert_allclose(vecs[0], (model.vector("apple") + model.vector("pear")) / 2, rtol=1e-6)
    assert not vecs[2].any()  # all tokens unknown -> zeros
    model.save(tmp_path)
    loaded = load_model("word2vec", tmp_path)
    np.testing.assert_array_equal(loaded.predict([["apple", "pear"], "hammer saw"]), vecs[:2])
    # same corpus and seed -> same vectors (workers=1 and a stable hash for the initial vectors)
    again = train("word2vec", w2v_corpus(), None, params=params).model
    np.testing.assert_array_equal(again.vector("apple"), model.vector("apple"))
    with pytest.raises(MLError, match="'kiwi' is not in the vocabulary"):
        model.vector("kiwi")


# --- errors ----------------------------------------------------------------------------------------


def test_unknown_params_are_named(binary_data):
    X, y = binary_data["X"][:100], binary_data["y"][:100]
    with pytest.raises(MLError, match=r"unknown lr param\(s\) \['max_dept'\]"):
        train("lr", X, y, params={"max_dept": 3})
    with pytest.raises(MLError, match=r"unknown gbdt param\(s\) \['num_boost_round'\]"):
        train("gbdt", X, y, params={"num_boost_round": 3})
    with pytest.raises(MLError, match=r"unknown xgboost param\(s\) \['max_dept'\]"):
        train("xgboost", X, y, params={"max_dept": 3, "num_boost_round": 2})
    with pytest.raises(MLError, match=r"unknown word2vec param\(s\) \['size'\]"):
        train("word2vec", [["a"]], None, params={"size": 3})
    with pytest.raises(MLError, match="unknown algorithm 'svm'"):
        train("svm", X, y)  # type: ignore[arg-type]


@pytest.mark.parametrize("algorithm", ["lr", "mlp"])
def test_nan_into_lr_or_mlp_says_add_fill_missing(algorithm, binary_data):
    X = binary_data["X"][:100].copy()
    X[3, 2] = np.nan
    with pytest.raises(MLError, match=r"feature 'f2' has some: add a fill_missing step"):
        train(algorithm, X, binary_data["y"][:100], feature_names=[f"f{i}" for i in range(5)])
    model = train("lr", binary_data["X"][:100], binary_data["y"][:100]).model
    with pytest.raises(MLError, match="fill_missing"):
        model.predict(X)


def test_bad_training_inputs(binary_data):
    X, y = binary_data["X"][:100], binary_data["y"][:100]
    with pytest.raises(MLError, match="must be 0 or 1"):
        train("xgboost", X, y * 2)
    with pytest.raises(MLError, match="100 rows but y has 99"):
        train("xgboost", X, y[:99])
    with pytest.raises(MLError, match="needs a validation set"):
        train("xgboost", X, y, early_stopping_rounds=3)
    with pytest.raises(MLError, match="both classes"):
        train("lr", X, np.zeros(100))
    with pytest.raises(MLError, match="is not a saved xgboost model"):
        load_model("xgboost", "/nonexistent")
    with pytest.raises(MLError, match="unknown model flavor"):
        load_model("tensorflow", "/nonexistent")
