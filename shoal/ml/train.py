"""Train a model of any supported algorithm with one call: `train("xgboost", X, y, ...)`.

Hyperparameters pass through `params` in each library's own names, so its documentation applies:

    xgboost   {"max_depth": 6, "eta": 0.1, "num_boost_round": 100, ...}   (xgboost.train params)
    lightgbm  {"num_leaves": 31, "learning_rate": 0.1, "num_boost_round": 100, ...}
    lr        LogisticRegression kwargs (binary) / Ridge kwargs (regression)
    gbdt      HistGradientBoostingClassifier / Regressor kwargs
    mlp       MLPClassifier / MLPRegressor kwargs
    word2vec  gensim Word2Vec kwargs: vector_size, window, min_count, epochs, sg, ...

Choices worth knowing:

- `gbdt` is HistGradientBoosting, not GradientBoosting: it handles missing values natively, like
  xgboost and lightgbm, and is 10-100x faster on more than a few thousand rows. With
  `early_stopping_rounds` and a validation set it stops on our validation set (sklearn's
  `X_val`/`y_val`), then refits with the best iteration count so the saved model is the best one
  (HistGradientBoosting keeps the extra `n_iter_no_change` trees otherwise). Without
  `early_stopping_rounds` early stopping is off (sklearn's default 'auto' would switch it on for
  more than 10,000 rows with an internal split).
- `mlp` early stopping trains epoch by epoch with `partial_fit`, scores our validation set after
  each, and keeps a copy of the best epoch's model, stopping after `early_stopping_rounds` epochs
  without improvement. (sklearn's own `early_stopping=True` would split off part of the training
  set instead of using ours.)
- `lr` for regression is Ridge (alpha=1.0): one-hot columns are collinear by construction, where
  plain least squares is unstable.
- `best_iteration` is 0-based (the index of the last tree/epoch kept), or None without early stopping.
"""

from __future__ import annotations

import copy
import inspect
import re
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from shoal.ml.errors import MLError
from shoal.ml.flavors import (
    OBJECTIVES,
    LightGBMModel,
    Model,
    SklearnModel,
    Word2VecModel,
    XGBoostModel,
    check_finite,
    stable_str_hash,
    tokens_of,
)

Algorithm = Literal["xgboost", "lightgbm", "lr", "gbdt", "mlp", "word2vec"]
ALGORITHMS: tuple[str, ...] = ("xgboost", "lightgbm", "lr", "gbdt", "mlp", "word2vec")
DEFAULT_BOOST_ROUNDS = 100


@dataclass
class TrainResult:
    """A trained model and how it was trained."""

    model: Model
    best_iteration: int | None
    seconds: float
    params: dict[str, Any] = field(default_factory=dict)  # the hyperparameters used, defaults included


def train(
    algorithm: Algorithm,
    X: Any,
    y: Any,
    *,
    X_valid: Any = None,
    y_valid: Any = None,
    objective: Literal["binary", "regression"] = "binary",
    params: dict[str, Any] | None = None,
    early_stopping_rounds: int | None = None,
    seed: int = 42,
    feature_names: list[str] | None = None,
) -> TrainResult:
    """Train `algorithm` on X (rows x features, float) and y; see the module docstring for params."""
    if algorithm not in ALGORITHMS:
        raise MLError(f"unknown algorithm {algorithm!r}; choose one of {list(ALGORITHMS)}")
    params = dict(params or {})
    started = time.perf_counter()
    if algorithm == "word2vec":
        model, used = _train_word2vec(X, params, seed)
        return TrainResult(model, None, round(time.perf_counter() - started, 6), used)

    if objective not in OBJECTIVES:
        raise MLError(f"unknown objective {objective!r}; use 'binary' or 'regression'")
    if feature_names is None and hasattr(X, "columns"):
        feature_names = [str(c) for c in X.columns]
    X, y = _matrix(X, "X"), _labels(y, objective, "y")
    if len(X) != len(y):
        raise MLError(f"X has {len(X)} rows but y has {len(y)}; give one label per row")
    if feature_names is not None and len(feature_names) != X.shape[1]:
        raise MLError(f"feature_names has {len(feature_names)} names but X has {X.shape[1]} columns")
    if (X_valid is None) != (y_valid is None):
        raise MLError("give both X_valid and y_valid, or neither")
    if X_valid is not None:
        X_valid, y_valid = _matrix(X_valid, "X_valid"), _labels(y_valid, objective, "y_valid")
        if X_valid.shape[1] != X.shape[1]:
            raise MLError(f"X_valid has {X_valid.shape[1]} columns but X has {X.shape[1]}; "
                          "preprocess both the same way")
    if early_stopping_rounds is not None:
        if early_stopping_rounds < 1:
            raise MLError(f"early_stopping_rounds must be >= 1, got {early_stopping_rounds}")
        if X_valid is None:
            raise MLError("early_stopping_rounds needs a validation set: pass X_valid and y_valid")
        if algorithm == "lr":
            raise MLError("lr has no iterations to stop early; drop early_stopping_rounds")

    trainer = {"xgboost": _train_xgboost, "lightgbm": _train_lightgbm}.get(algorithm)
    if trainer is not None:
        model, used = trainer(X, y, X_valid, y_valid, objective, params, early_stopping_rounds, seed)
    else:
        model, used = _train_sklearn(algorithm, X, y, X_valid, y_valid, objective, params, early_stopping_rounds,
                                     seed, feature_names)
    model.feature_names = feature_names
    return TrainResult(model, model.best_iteration, round(time.perf_counter() - started, 6), used)


def _matrix(X: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise MLError(f"{name} must be numbers (preprocess text columns with one_hot/hash/label_encode): "
                      f"{exc}") from None
    if arr.ndim != 2:
        raise MLError(f"{name} must be 2-D (rows x features), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise MLError(f"{name} has no rows; check the sample query and the split fractions")
    return arr


def _labels(y: Any, objective: str, name: str) -> np.ndarray:
    arr = np.asarray(y, dtype=np.float64).reshape(-1)
    if np.isnan(arr).any():
        raise MLError(f"{name} has missing labels; drop those rows before training")
    if objective == "binary" and not np.isin(arr, (0.0, 1.0)).all():
        bad = sorted(set(np.unique(arr).tolist()) - {0.0, 1.0})[:5]
        raise MLError(f"binary labels in {name} must be 0 or 1, found {bad}; map them first or use objective "
                      "'regression'")
    return arr


def _take_rounds(params: dict[str, Any]) -> int:
    rounds = params.pop("num_boost_round", DEFAULT_BOOST_ROUNDS)
    if not isinstance(rounds, int) or rounds < 1:
        raise MLError(f"num_boost_round must be a positive integer, got {rounds!r}")
    return rounds


def _train_xgboost(X, y, X_valid, y_valid, objective, params, early_stopping_rounds, seed):  # type: ignore[no-untyped-def]
    import xgboost

    params = dict(params)
    rounds = _take_rounds(params)
    used = {"objective": "binary:logistic" if objective == "binary" else "reg:squarederror",
            "eval_metric": "logloss" if objective == "binary" else "rmse", "seed": seed, **params}
    dtrain = xgboost.DMatrix(X, label=y, missing=np.nan)
    evals = [(xgboost.DMatrix(X_valid, label=y_valid, missing=np.nan), "validation")] if X_valid is not None else []
    # xgboost reports unknown parameters as a warning from C++; turn that into an error naming them
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            booster = xgboost.train(used, dtrain, num_boost_round=rounds, evals=evals,
                                    early_stopping_rounds=early_stopping_rounds, verbose_eval=False)
        except xgboost.core.XGBoostError as exc:
            raise MLError(f"xgboost rejected the params: {str(exc).splitlines()[0]}") from None
    for w in caught:
        unknown = re.search(r"Parameters: \{(.*)\} are not used", str(w.message), re.S)
        if unknown:
            names = [n.strip().strip('"') for n in unknown.group(1).split(",")]
            raise MLError(f"unknown xgboost param(s) {names}; see https://xgboost.readthedocs.io/en/stable/"
                          "parameter.html", params=names)
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    best = int(booster.best_iteration) if early_stopping_rounds is not None else None
    return XGBoostModel(booster, objective, best), {**used, "num_boost_round": rounds}


def _train_lightgbm(X, y, X_valid, y_valid, objective, params, early_stopping_rounds, seed):  # type: ignore[no-untyped-def]
    import lightgbm

    params = dict(params)
    rounds = _take_rounds(params)
    # deterministic + force_col_wise: same model for the same data and seed, and no timing-dependent choice
    used = {"objective": objective, "seed": seed, "deterministic": True, "force_col_wise": True, "verbosity": -1,
            **params}
    train_set = lightgbm.Dataset(X, label=y, params={"verbosity": -1})
    valid_sets, callbacks = [], []
    if X_valid is not None:
        valid_sets.append(lightgbm.Dataset(X_valid, label=y_valid, reference=train_set))
    if early_stopping_rounds is not None:
        callbacks.append(lightgbm.early_stopping(early_stopping_rounds, verbose=False))
    try:
        booster = lightgbm.train(used, train_set, num_boost_round=rounds, valid_sets=valid_sets,
                                 valid_names=["validation"] * len(valid_sets), callbacks=callbacks)
    except lightgbm.basic.LightGBMError as exc:
        raise MLError(f"lightgbm rejected the params: {exc}") from None
    best = booster.best_iteration - 1 if early_stopping_rounds is not None and booster.best_iteration > 0 else None
    return LightGBMModel(booster, objective, best), {**used, "num_boost_round": rounds}


def _sklearn_class(algorithm: str, objective: str) -> type:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    table = {
        ("lr", "binary"): LogisticRegression, ("lr", "regression"): Ridge,
        ("gbdt", "binary"): HistGradientBoostingClassifier, ("gbdt", "regression"): HistGradientBoostingRegressor,
        ("mlp", "binary"): MLPClassifier, ("mlp", "regression"): MLPRegressor,
    }
    return table[(algorithm, objective)]


_SKLEARN_DEFAULTS: dict[str, dict[str, Any]] = {
    "lr": {"max_iter": 1000},
    "gbdt": {"early_stopping": False},
    "mlp": {},
}


def _train_sklearn(algorithm, X, y, X_valid, y_valid, objective, params, early_stopping_rounds, seed,  # type: ignore[no-untyped-def]
                   feature_names):
    cls = _sklearn_class(algorithm, objective)
    accepted = cls().get_params()
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise MLError(f"unknown {algorithm} param(s) {unknown} for {cls.__name__}; accepted: {sorted(accepted)}",
                      params=unknown)
    kwargs = {**_SKLEARN_DEFAULTS[algorithm], **params}
    if "random_state" in accepted:
        kwargs.setdefault("random_state", seed)
    needs_finite = algorithm in ("lr", "mlp")
    if needs_finite:
        check_finite(X, algorithm, feature_names)
        if X_valid is not None:
            check_finite(X_valid, algorithm, feature_names)
    y_fit = y.astype(np.int64) if objective == "binary" else y
    y_val = None if y_valid is None else (y_valid.astype(np.int64) if objective == "binary" else y_valid)
    if objective == "binary" and len(np.unique(y_fit)) < 2:
        raise MLError(f"{algorithm} needs both classes in the training labels, but all are {int(y_fit[0])}")

    best: int | None = None
    try:
        if algorithm == "gbdt" and early_stopping_rounds is not None:
            est, best = _fit_gbdt_early_stopping(cls, kwargs, X, y_fit, X_valid, y_val, early_stopping_rounds)
        elif algorithm == "mlp" and early_stopping_rounds is not None:
            est, best = _fit_mlp_early_stopping(cls, kwargs, X, y_fit, X_valid, y_val, objective,
                                                early_stopping_rounds)
        else:
            est = cls(**kwargs).fit(X, y_fit)
    except (ValueError, TypeError) as exc:
        raise MLError(f"{algorithm} ({cls.__name__}) rejected the params or data: {exc}") from None
    used = {k: v for k, v in est.get_params().items() if not callable(v)}
    return SklearnModel(est, objective, best, feature_names, algorithm, needs_finite), used


def _fit_gbdt_early_stopping(cls, kwargs, X, y, X_valid, y_valid, rounds):  # type: ignore[no-untyped-def]
    kwargs = {**kwargs, "early_stopping": True, "n_iter_no_change": rounds}
    est = cls(**kwargs).fit(X, y, X_val=X_valid, y_val=y_valid)
    # validation_score_[0] is the score before the first tree; higher is better
    best = max(int(np.argmax(est.validation_score_)) - 1, 0)
    if best + 1 < est.n_iter_:  # refit without the trees past the best one (same seed -> same trees)
        est = cls(**{**kwargs, "early_stopping": False, "max_iter": best + 1}).fit(X, y)
    return est, best


def _fit_mlp_early_stopping(cls, kwargs, X, y, X_valid, y_valid, objective, rounds):  # type: ignore[no-untyped-def]
    from sklearn.metrics import log_loss, mean_squared_error

    if kwargs.get("solver", "adam") == "lbfgs":
        raise MLError("mlp early stopping trains epoch by epoch, which solver 'lbfgs' cannot; use 'adam' or 'sgd', "
                      "or drop early_stopping_rounds")
    epochs = int(kwargs.get("max_iter", 200))
    est = cls(**{**kwargs, "early_stopping": False})
    best_loss, best_est, best_epoch, since_best = np.inf, None, 0, 0
    for epoch in range(epochs):
        if objective == "binary":
            est.partial_fit(X, y, classes=np.array([0, 1]))
            loss = log_loss(y_valid, est.predict_proba(X_valid)[:, 1], labels=[0, 1])
        else:
            est.partial_fit(X, y)
            loss = mean_squared_error(y_valid, est.predict(X_valid))
        if loss < best_loss:
            best_loss, best_est, best_epoch, since_best = loss, copy.deepcopy(est), epoch, 0
        else:
            since_best += 1
            if since_best >= rounds:
                break
    return best_est, best_epoch


def _train_word2vec(X: Any, params: dict[str, Any], seed: int) -> tuple[Model, dict[str, Any]]:
    from gensim.models import Word2Vec

    accepted = set(inspect.signature(Word2Vec).parameters) - {"sentences", "corpus_file", "corpus_iterable", "hashfxn"}
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise MLError(f"unknown word2vec param(s) {unknown}; accepted: {sorted(accepted)}", params=unknown)
    sentences = tokens_of(X)
    # one worker and a stable hash for the initial vectors: the same corpus and seed give the same vectors
    used = {"vector_size": 100, "window": 5, "min_count": 5, "epochs": 5, "workers": 1, "seed": seed, **params}
    try:
        w2v = Word2Vec(sentences=sentences, hashfxn=stable_str_hash, **used)
    except RuntimeError as exc:  # e.g. an empty vocabulary
        raise MLError(f"word2vec could not train: {exc}; check the token column and min_count "
                      f"({used['min_count']})") from None
    return Word2VecModel(w2v), used
