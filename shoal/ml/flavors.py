"""Model flavors: one class per library, each knowing how to predict, save and load itself.

A flavor directory holds the library's own model file plus `flavor.json` (objective, best
iteration, feature names), so loading never depends on library-specific attributes surviving a
save/load round trip.

`predict` is on the serving hot path: it takes a 2-D float64 matrix (often a single row) and does
the least work the library allows (xgboost `inplace_predict` instead of building a DMatrix).
"""

from __future__ import annotations

import json
import pickle
import re
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from shoal.ml.errors import MLError

FLAVOR_FILE = "flavor.json"
OBJECTIVES = ("binary", "regression")
# Below this many rows prediction runs on one thread: for a request-sized batch, waking a thread pool
# costs more than the trees (xgboost: ~5 ms vs ~0.1 ms for one row on a busy 2-core machine).
SMALL_BATCH = 1024


def _write_meta(directory: Path, **meta: Any) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / FLAVOR_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True))


def _read_meta(directory: Path, flavor: str) -> dict[str, Any]:
    path = directory / FLAVOR_FILE
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        raise MLError(f"{path} is missing: {directory} is not a saved {flavor} model") from None
    except (OSError, ValueError) as exc:
        raise MLError(f"{path} is unreadable ({exc}); the model artifact is corrupt, retrain it") from None
    if meta.get("flavor") != flavor:
        raise MLError(f"{directory} holds a {meta.get('flavor')!r} model, not {flavor!r}")
    return meta


def _require(path: Path) -> Path:
    if not path.is_file():
        raise MLError(f"model file {path} is missing; the model artifact is incomplete, retrain it")
    return path


class Model:
    """The interface every flavor implements."""

    flavor: ClassVar[str]
    objective: str
    best_iteration: int | None = None
    feature_names: list[str] | None = None

    def _describe(self, objective: str, best_iteration: int | None, feature_names: list[str] | None) -> None:
        """The fields every flavor saves in flavor.json (see `_meta`)."""
        self.objective = objective
        self.best_iteration = best_iteration
        self.feature_names = feature_names

    def predict(self, X: Any) -> np.ndarray:
        """Scores for the rows of X: P(positive) for binary, the value for regression."""
        raise NotImplementedError

    def save(self, directory: Path) -> None:
        raise NotImplementedError

    @classmethod
    def load(cls, directory: Path) -> Model:
        raise NotImplementedError

    def importance(self) -> tuple[str, dict[str, float]] | None:
        """How much each feature counts, as (kind, {feature: value}) in the library's own measure
        (gain for trees, |coefficient| for linear models), or None when the model has no such
        measure (an MLP, HistGradientBoosting). Features the model never used may be missing."""
        return None

    def _name(self, i: int) -> str:
        names = self.feature_names
        return names[i] if names and i < len(names) else f"#{i}"

    def _meta(self) -> dict[str, Any]:
        return {"flavor": self.flavor, "objective": self.objective, "best_iteration": self.best_iteration,
                "feature_names": self.feature_names}


class XGBoostModel(Model):
    """An `xgboost.Booster`, saved as `model.ubj` (the universal binary JSON format)."""

    flavor = "xgboost"
    FILE = "model.ubj"

    def __init__(self, booster: Any, objective: str, best_iteration: int | None = None,
                 feature_names: list[str] | None = None) -> None:
        self.booster = booster
        self._describe(objective, best_iteration, feature_names)
        # xgboost counts iterations 0..n-1; predict with trees up to and including the best one
        self._range = (0, best_iteration + 1) if best_iteration is not None else (0, 0)
        # nthread is per booster, not per call, so small and large batches use separate boosters; changing
        # it per call would race with concurrent predictions in the model server
        self._single = booster.copy()
        self._single.set_param({"nthread": 1})

    def predict(self, X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1:
            X = X.reshape(1, -1)
        booster = self._single if len(X) < SMALL_BATCH else self.booster
        # inplace_predict reads the numpy buffer directly: no DMatrix per call (~10x faster for one row)
        return np.asarray(booster.inplace_predict(X, iteration_range=self._range), dtype=np.float64).reshape(-1)

    def importance(self) -> tuple[str, dict[str, float]] | None:
        # Trained on a bare matrix, the booster names its features f0, f1, ...: map them back.
        scores = self.booster.get_score(importance_type="gain")
        out: dict[str, float] = {}
        for key, value in scores.items():
            name = self._name(int(key[1:])) if re.fullmatch(r"f\d+", key) else key
            out[name] = float(value)
        return "gain", out

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        _write_meta(directory, **self._meta())
        self.booster.save_model(str(directory / self.FILE))

    @classmethod
    def load(cls, directory: Path) -> XGBoostModel:
        import xgboost

        directory = Path(directory)
        meta = _read_meta(directory, cls.flavor)
        booster = xgboost.Booster()
        try:
            booster.load_model(str(_require(directory / cls.FILE)))
        except xgboost.core.XGBoostError as exc:
            raise MLError(f"cannot load {directory / cls.FILE}: {exc}") from None
        return cls(booster, meta["objective"], meta.get("best_iteration"), meta.get("feature_names"))


class LightGBMModel(Model):
    """A `lightgbm.Booster`, saved as `model.txt`."""

    flavor = "lightgbm"
    FILE = "model.txt"

    def __init__(self, booster: Any, objective: str, best_iteration: int | None = None,
                 feature_names: list[str] | None = None) -> None:
        self.booster = booster
        self._describe(objective, best_iteration, feature_names)
        # lightgbm's num_iteration is a count (1-based); None means all
        self._num_iteration = best_iteration + 1 if best_iteration is not None else None

    def predict(self, X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1:
            X = X.reshape(1, -1)
        threads = {"num_threads": 1} if len(X) < SMALL_BATCH else {}
        return np.asarray(self.booster.predict(X, num_iteration=self._num_iteration, **threads),
                          dtype=np.float64).reshape(-1)

    def importance(self) -> tuple[str, dict[str, float]] | None:
        gains = self.booster.feature_importance(importance_type="gain", iteration=self._num_iteration)
        return "gain", {self._name(i): float(g) for i, g in enumerate(gains)}

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        _write_meta(directory, **self._meta())
        self.booster.save_model(str(directory / self.FILE))

    @classmethod
    def load(cls, directory: Path) -> LightGBMModel:
        import lightgbm

        directory = Path(directory)
        meta = _read_meta(directory, cls.flavor)
        try:
            booster = lightgbm.Booster(model_file=str(_require(directory / cls.FILE)))
        except lightgbm.basic.LightGBMError as exc:
            raise MLError(f"cannot load {directory / cls.FILE}: {exc}") from None
        return cls(booster, meta["objective"], meta.get("best_iteration"), meta.get("feature_names"))


class SklearnModel(Model):
    """A scikit-learn estimator (lr, gbdt, mlp), pickled with joblib as `model.pkl`.

    Pickles only load with a compatible scikit-learn; flavor.json records the version it was saved with.
    """

    flavor = "sklearn"
    FILE = "model.pkl"

    def __init__(self, estimator: Any, objective: str, best_iteration: int | None = None,
                 feature_names: list[str] | None = None, algorithm: str | None = None,
                 needs_finite: bool = False) -> None:
        self.estimator = estimator
        self._describe(objective, best_iteration, feature_names)
        self.algorithm = algorithm
        self.needs_finite = needs_finite  # LR and MLP cannot take NaN; HistGradientBoosting can

    def predict(self, X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1:
            X = X.reshape(1, -1)
        if self.needs_finite:
            check_finite(X, self.algorithm or "this model", self.feature_names)
        if self.objective == "binary":
            return np.asarray(self.estimator.predict_proba(X)[:, 1], dtype=np.float64)
        return np.asarray(self.estimator.predict(X), dtype=np.float64).reshape(-1)

    def importance(self) -> tuple[str, dict[str, float]] | None:
        # Only the linear models carry a per-feature number; HistGradientBoosting and MLP do not
        # (permutation importance would mean scoring the data again per feature).
        coef = getattr(self.estimator, "coef_", None)
        if coef is None or self.algorithm not in (None, "lr"):
            return None
        values = np.abs(np.asarray(coef, dtype=np.float64)).reshape(-1)
        return "abs_coefficient", {self._name(i): float(v) for i, v in enumerate(values)}

    def _meta(self) -> dict[str, Any]:
        import sklearn

        return {**super()._meta(), "algorithm": self.algorithm, "needs_finite": self.needs_finite,
                "sklearn_version": sklearn.__version__}

    def save(self, directory: Path) -> None:
        import joblib

        directory = Path(directory)
        _write_meta(directory, **self._meta())
        joblib.dump(self.estimator, directory / self.FILE)

    @classmethod
    def load(cls, directory: Path) -> SklearnModel:
        import joblib

        directory = Path(directory)
        meta = _read_meta(directory, cls.flavor)
        try:
            estimator = joblib.load(_require(directory / cls.FILE))
        except (pickle.UnpicklingError, EOFError, ValueError, AttributeError, ImportError) as exc:
            raise MLError(f"cannot load {directory / cls.FILE} (saved with scikit-learn "
                          f"{meta.get('sklearn_version')}): {exc}") from None
        return cls(estimator, meta["objective"], meta.get("best_iteration"), meta.get("feature_names"),
                   meta.get("algorithm"), bool(meta.get("needs_finite")))


def check_finite(X: np.ndarray, algorithm: str, feature_names: Sequence[str] | None = None) -> None:
    """Raise MLError naming the first column with NaN/inf: LR and MLP cannot take missing values."""
    bad = ~np.isfinite(X)
    if bad.any():
        col = int(np.nonzero(bad.any(axis=0))[0][0])
        name = feature_names[col] if feature_names and col < len(feature_names) else f"#{col}"
        raise MLError(f"{algorithm} cannot take missing or infinite values, but feature {name!r} has some: "
                      "add a fill_missing step for it to the preprocessing, or use xgboost/lightgbm/gbdt, "
                      "which handle missing values", column=name)


def stable_str_hash(text: str) -> int:
    """gensim seeds each word's initial vector with a hash of the word; Python's hash() changes per process."""
    return zlib.crc32(text.encode("utf-8", "surrogatepass"))


def tokens_of(X: Any) -> list[list[str]]:
    """Token sequences from a list of token lists or of space-separated strings (or a pandas Series of either)."""
    seqs = X.tolist() if hasattr(X, "tolist") else list(X)
    out: list[list[str]] = []
    for i, seq in enumerate(seqs):
        if seq is None or (isinstance(seq, float) and seq != seq):
            out.append([])
        elif isinstance(seq, str):
            out.append(seq.split())
        elif isinstance(seq, (list, tuple, np.ndarray)):
            out.append([str(t) for t in seq])
        else:
            raise MLError(f"token sequence #{i} is a {type(seq).__name__}; give a list of tokens or a "
                          "space-separated string")
    return out


class Word2VecModel(Model):
    """A gensim Word2Vec model, saved with gensim's own `save` as `w2v.model` (training can continue)."""

    flavor = "word2vec"
    FILE = "w2v.model"

    def __init__(self, w2v: Any, objective: str = "embedding") -> None:
        self.w2v = w2v
        self.objective = objective

    @property
    def vector_size(self) -> int:
        return int(self.w2v.wv.vector_size)

    def predict(self, X: Any) -> np.ndarray:
        """The mean vector of each sequence's known tokens (zeros when none is known); shape (n, vector_size)."""
        wv = self.w2v.wv
        seqs = tokens_of(X)
        out = np.zeros((len(seqs), wv.vector_size), dtype=np.float64)
        for i, seq in enumerate(seqs):
            known = [t for t in seq if t in wv.key_to_index]
            if known:
                out[i] = np.mean(wv[known], axis=0)
        return out

    def vector(self, token: str) -> np.ndarray:
        if token not in self.w2v.wv.key_to_index:
            raise MLError(f"token {token!r} is not in the vocabulary (it was rarer than min_count or never seen)")
        return np.asarray(self.w2v.wv[token], dtype=np.float64)

    def most_similar(self, token: str, n: int = 10) -> list[tuple[str, float]]:
        self.vector(token)  # a clear error for unknown tokens
        return [(t, float(s)) for t, s in self.w2v.wv.most_similar(token, topn=n)]

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        _write_meta(directory, **self._meta())
        self.w2v.save(str(directory / self.FILE))

    @classmethod
    def load(cls, directory: Path) -> Word2VecModel:
        from gensim.models import Word2Vec

        directory = Path(directory)
        meta = _read_meta(directory, cls.flavor)
        try:
            w2v = Word2Vec.load(str(_require(directory / cls.FILE)))
        except (pickle.UnpicklingError, EOFError, ValueError, AttributeError, OSError) as exc:
            raise MLError(f"cannot load {directory / cls.FILE}: {exc}") from None
        # the loaded model pickled a reference to stable_str_hash; nothing else to restore
        return cls(w2v, meta.get("objective", "embedding"))


FLAVORS: dict[str, type[Model]] = {m.flavor: m for m in (XGBoostModel, LightGBMModel, SklearnModel, Word2VecModel)}


def load_model(flavor: str, directory: Path | str) -> Model:
    """Load a model saved by `<flavor class>.save(directory)`."""
    cls = FLAVORS.get(flavor)
    if cls is None:
        raise MLError(f"unknown model flavor {flavor!r}; known flavors: {sorted(FLAVORS)}")
    return cls.load(Path(directory))
