"""Property: `transform_row(row)` equals the row of `transform(frame)`, bit for bit (NaN equals NaN).

Serving uses the row path and training the frame path; any difference would serve a model features
it was never trained on. Random frames mix ints, floats with NaN/inf, text with None and bools,
and random per-column step chains cover every step type.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shoal.ml.preprocess import Pipeline

NUMERIC_STEPS = [
    {"type": "fill_missing", "strategy": "mean"},
    {"type": "fill_missing", "strategy": "median"},
    {"type": "fill_missing", "strategy": "most_frequent"},
    {"type": "fill_missing", "strategy": "constant", "value": -1},
    {"type": "standard_scale"},
    {"type": "minmax_scale"},
    {"type": "log"},
    {"type": "bucketize", "n_buckets": 3},
    {"type": "bucketize", "boundaries": [-1.0, 0.0, 2.5]},
]
ENCODERS = [
    {"type": "one_hot", "max_categories": 3},
    {"type": "one_hot"},
    {"type": "hash", "n_buckets": 5},
    {"type": "label_encode"},
]
TEXT_FILLS = [
    {"type": "fill_missing", "strategy": "most_frequent"},
    {"type": "fill_missing", "strategy": "constant", "value": "zz"},
]

floats = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True, width=64),
                   st.sampled_from([0.0, -0.0, 1.0, 2.5, -3.0]))
ints = st.integers(min_value=-(2**40), max_value=2**40) | st.sampled_from([0, 1, 2, 3])
texts = st.one_of(st.none(), st.sampled_from(["a", "b", "c", "1", "2.5", "é", ""]), st.text(max_size=3))
COLUMN_KINDS = ["int", "int_missing", "float", "text", "bool"]


@st.composite
def column_chain(draw, kind: str, name: str) -> list[dict]:
    chain = []
    if kind == "text":
        if draw(st.booleans()):
            chain.append(draw(st.sampled_from(TEXT_FILLS)))
        chain.append(draw(st.sampled_from(ENCODERS)))
        if chain[-1]["type"] != "one_hot":
            chain += draw(st.lists(st.sampled_from(NUMERIC_STEPS), max_size=2))
    else:
        chain += draw(st.lists(st.sampled_from(NUMERIC_STEPS), max_size=3))
        if draw(st.integers(0, 3)) == 0:
            chain.append(draw(st.sampled_from(ENCODERS)))
    return [{**step, "columns": [name]} for step in chain]


@st.composite
def frames_and_steps(draw):
    kinds = draw(st.lists(st.sampled_from(COLUMN_KINDS), min_size=1, max_size=5))
    n = draw(st.integers(1, 25))
    n_other = draw(st.integers(1, 10))
    names = [f"c{i}_{k}" for i, k in enumerate(kinds)]
    train: dict[str, list] = {}
    other: dict[str, list] = {}
    for name, kind in zip(names, kinds, strict=True):
        elem = {"int": ints, "int_missing": st.none() | ints, "float": floats, "text": texts,
                "bool": st.booleans()}[kind]
        train[name] = draw(st.lists(elem, min_size=n, max_size=n))
        other[name] = draw(st.lists(elem, min_size=n_other, max_size=n_other))
    chains = [draw(column_chain(kind, name)) for name, kind in zip(names, kinds, strict=True)]
    # interleave the per-column chains at random, keeping each column's own order
    steps: list[dict] = []
    while any(chains):
        i = draw(st.sampled_from([i for i, c in enumerate(chains) if c]))
        steps.append(chains[i].pop(0))
    text_dtype = draw(st.sampled_from([object, "str"]))
    return kinds, names, train, other, steps, text_dtype


def to_frame(data: dict[str, list], names, kinds, text_dtype) -> pd.DataFrame:
    dtype = {"int": "int64", "int_missing": "float64", "float": "float64", "text": text_dtype, "bool": bool}
    return pd.DataFrame({n: pd.Series(data[n], dtype=dtype[k]) for n, k in zip(names, kinds, strict=True)})


def raw_rows(data: dict[str, list], drop_missing: bool) -> list[dict]:
    """Rows as a request would send them: None for missing, or the key left out."""
    n = len(next(iter(data.values())))
    rows = []
    for i in range(n):
        row = {k: v[i] for k, v in data.items()}
        if drop_missing:
            row = {k: v for k, v in row.items() if v is not None}
        rows.append(row)
    return rows


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    canon = lambda x: np.where(np.isnan(x), np.nan, x)  # noqa: E731 - NaN payloads may differ, NaN-ness may not
    return a.shape == b.shape and canon(a).tobytes() == canon(b).tobytes()


@pytest.mark.slow  # 100 generated frames through every step (about 10 s)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames_and_steps(), st.booleans())
def test_transform_row_equals_transform(case, drop_missing):
    kinds, names, train, other, steps, text_dtype = case
    train_df = to_frame(train, names, kinds, text_dtype)
    pipe = Pipeline(steps, names).fit(train_df)
    loaded = Pipeline.from_json(json.loads(json.dumps(pipe.to_json())))
    for data in (train, other):  # the training rows, and rows with unseen values
        frame = to_frame(data, names, kinds, text_dtype)
        X = pipe.transform(frame)
        assert X.shape == (len(frame), len(pipe.output_columns))
        for p in (pipe, loaded):
            for i, row in enumerate(raw_rows(data, drop_missing)):
                assert same_bits(p.transform_row(row), X[i]), (steps, row, p.transform_row(row), X[i])
            for i, row in enumerate(frame.to_dict("records")):
                assert same_bits(p.transform_row(row), X[i]), (steps, row)
        assert same_bits(loaded.transform(frame), X)
