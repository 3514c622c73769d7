"""The evaluation report a model version may carry (written by `shoal.ml.evaluation.report`).

The registry stores it as `shoal-evaluation.json` in the version's artifact directory, beside the
model files (see `artifacts.py`), and checks it first: a JSON object of at most 64 KiB whose
keys are known and whose curves, counts and importances have the shapes the web UI draws. A
report that fails is refused with the field that is wrong, and nothing is registered.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from shoal.registry.errors import RegistryInputError

MAX_BYTES = 64 * 1024
MAX_POINTS = 1000  # per curve or sample; the evaluate task writes at most 200
MAX_FEATURES = 100  # the evaluate task writes the top 30
FORMAT = 1
_CURVES = {
    "roc": ("fpr", "tpr"),
    "pr": ("recall", "precision"),
    "predicted_vs_actual": ("actual", "predicted"),
}
_NUMBERS = ("threshold", "auc", "average_precision", "rmse")
_COUNTS = ("rows", "positives")
KNOWN_KEYS = frozenset({"format", "objective", "confusion", "importance", "residuals", *_CURVES, *_NUMBERS,
                        *_COUNTS})


class _Bad(Exception):
    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where} {problem}")


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _Bad(where, f"must be a finite number, not {json.dumps(value)[:40]}")
    return float(value)


def _count(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _Bad(where, f"must be a whole number >= 0, not {json.dumps(value)[:40]}")
    return value


def _numbers(value: Any, where: str, count: bool = False) -> list[Any]:
    if not isinstance(value, list):
        raise _Bad(where, "must be a list of numbers")
    if len(value) > MAX_POINTS:
        raise _Bad(where, f"has {len(value)} values; at most {MAX_POINTS}")
    for i, v in enumerate(value):
        (_count if count else _number)(v, f"{where}[{i}]")
    return value


def _object(value: Any, where: str, keys: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Bad(where, f"must be an object with {', '.join(keys)}")
    missing = [k for k in keys if k not in value]
    extra = sorted(set(value) - set(keys))
    if missing or extra:
        raise _Bad(where, f"must have exactly {', '.join(keys)}"
                   + (f" (missing {', '.join(missing)})" if missing else "")
                   + (f" (unknown {', '.join(extra)})" if extra else ""))
    return value


def _curve(value: Any, where: str, axes: tuple[str, str]) -> None:
    _object(value, where, axes)
    a, b = (_numbers(value[k], f"{where}.{k}") for k in axes)
    if len(a) != len(b):
        raise _Bad(where, f"has {len(a)} {axes[0]} values but {len(b)} {axes[1]} values; give one per point")
    if len(a) < 2:
        raise _Bad(where, "needs at least 2 points")


def _check(doc: Any) -> None:
    if not isinstance(doc, dict):
        raise _Bad("evaluation", f"must be a JSON object, not a {type(doc).__name__}")
    unknown = sorted(set(doc) - KNOWN_KEYS)
    if unknown:
        raise _Bad("evaluation", f"has unknown keys {', '.join(unknown)} (known: {', '.join(sorted(KNOWN_KEYS))})")
    fmt = doc.get("format")
    if fmt != FORMAT:
        raise _Bad("evaluation.format", f"must be {FORMAT} (this shoal's report format), not {json.dumps(fmt)}")
    if doc.get("objective") not in ("binary", "regression"):
        raise _Bad("evaluation.objective", f"must be binary or regression, not {json.dumps(doc.get('objective'))}")
    for key in _NUMBERS:
        if key in doc:
            _number(doc[key], f"evaluation.{key}")
    for key in _COUNTS:
        if key in doc:
            _count(doc[key], f"evaluation.{key}")
    for key, axes in _CURVES.items():
        if key in doc:
            _curve(doc[key], f"evaluation.{key}", axes)
    if "confusion" in doc:
        cells = _object(doc["confusion"], "evaluation.confusion", ("tn", "fp", "fn", "tp"))
        for k, v in cells.items():
            _count(v, f"evaluation.confusion.{k}")
    if "residuals" in doc:
        r = _object(doc["residuals"], "evaluation.residuals", ("edges", "counts"))
        edges, counts = _numbers(r["edges"], "evaluation.residuals.edges"), _numbers(
            r["counts"], "evaluation.residuals.counts", count=True)
        if len(edges) != len(counts) + 1:
            raise _Bad("evaluation.residuals", f"has {len(counts)} counts, so needs {len(counts) + 1} edges, "
                       f"not {len(edges)}")
    if "importance" in doc:
        imp = _object(doc["importance"], "evaluation.importance", ("kind", "features"))
        if not isinstance(imp["kind"], str) or not imp["kind"]:
            raise _Bad("evaluation.importance.kind", "must be a name, e.g. gain")
        feats = imp["features"]
        if not isinstance(feats, list) or len(feats) > MAX_FEATURES:
            raise _Bad("evaluation.importance.features", f"must be a list of at most {MAX_FEATURES} "
                       "{feature, value} objects")
        for i, f in enumerate(feats):
            where = f"evaluation.importance.features[{i}]"
            _object(f, where, ("feature", "value"))
            if not isinstance(f["feature"], str):
                raise _Bad(f"{where}.feature", "must be a feature name")
            _number(f["value"], f"{where}.value")


def check_evaluation(doc: Any, source: str = "the evaluation") -> dict[str, Any]:
    """`doc` if it is a report the registry can store; RegistryInputError naming the wrong field."""
    try:
        size = len(dumps(doc))
    except (TypeError, ValueError) as e:  # a set, NaN, a number too big for JSON...
        raise RegistryInputError(f"{source} is not plain JSON: {e}") from None
    if size > MAX_BYTES:
        raise RegistryInputError(f"{source} is {size} bytes; at most {MAX_BYTES} (thin its curves, keep fewer "
                                 "features)")
    try:
        _check(doc)
    except _Bad as e:
        raise RegistryInputError(f"{source} is not an evaluation report: {e}") from None
    return doc


def read_evaluation(path: str | Path) -> dict[str, Any]:
    """The report in the JSON file at `path`, checked; its size is checked before it is parsed."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise RegistryInputError(f"evaluation {p} is {size} bytes; at most {MAX_BYTES} (thin its curves, keep "
                                     "fewer features)")
        doc = json.loads(p.read_text())
    except FileNotFoundError:
        raise RegistryInputError(f"evaluation {p} does not exist; give the file the evaluate task wrote, e.g. "
                                 "${evaluate.evaluation}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise RegistryInputError(f"evaluation {p} is unreadable: {e}") from None
    except ValueError as e:
        raise RegistryInputError(f"evaluation {p} is not JSON: {e}") from None
    return check_evaluation(doc, f"evaluation {p}")


def dumps(doc: Any) -> bytes:
    """The stored form: compact JSON."""
    return json.dumps(doc, separators=(",", ":"), allow_nan=False).encode()
