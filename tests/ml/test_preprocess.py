"""Each step's semantics on small frames, the output layout, JSON round trips and bad configs."""

from __future__ import annotations

import json
import math
import zlib

import numpy as np
import pandas as pd
import pytest

from shoal.ml.errors import MLError
from shoal.ml.preprocess import Pipeline


def run(steps, frame, inputs=None):
    pipe = Pipeline(steps, inputs or list(frame.columns)).fit(frame)
    return pipe, pipe.transform(frame)


def rows_of(pipe, frame):
    return np.vstack([pipe.transform_row(r) for r in frame.to_dict("records")])


def test_untouched_numeric_columns_pass_through_as_floats(mixed_frame):
    pipe, X = run([], mixed_frame, ["age", "income", "active"])
    assert pipe.output_columns == ["age", "income", "active"]
    assert X.dtype == np.float64
    np.testing.assert_array_equal(X[:, 0], [20, 30, 40, 50, 60, 70])
    assert np.isnan(X[1, 1]) and X[0, 1] == 1.0  # missing stays NaN
    np.testing.assert_array_equal(X[:, 2], [1, 0, 1, 1, 0, 1])


@pytest.mark.parametrize("strategy, value, expected", [
    ("mean", None, 3.5), ("median", None, 3.5), ("most_frequent", None, 1.0), ("constant", -1, -1.0),
])
def test_fill_missing_numeric(mixed_frame, strategy, expected, value):
    step = {"type": "fill_missing", "columns": ["income"], "strategy": strategy}
    if value is not None:
        step["value"] = value
    pipe, X = run([step], mixed_frame, ["income"])
    np.testing.assert_array_equal(X[:, 0], [1, expected, 3, 4, expected, 6])
    np.testing.assert_array_equal(rows_of(pipe, mixed_frame), X)


def test_fill_missing_text_then_label_encode(mixed_frame):
    steps = [{"type": "fill_missing", "columns": ["city"], "strategy": "most_frequent"},
             {"type": "label_encode", "columns": ["city"]}]
    pipe, X = run(steps, mixed_frame, ["city"])
    # categories sorted: a=0, b=1, c=2; the missing city became the most frequent, "a"
    np.testing.assert_array_equal(X[:, 0], [0, 1, 0, 0, 2, 0])
    assert pipe.transform_row({"city": "zzz"}).tolist() == [-1.0]  # unknown
    assert pipe.transform_row({}).tolist() == [0.0]  # missing key -> filled with "a"


def test_standard_and_minmax_scale():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, np.nan], "c": [5.0, 5.0, 5.0, 5.0]})
    _, X = run([{"type": "standard_scale", "columns": ["x", "c"]}], frame)
    sd = math.sqrt(2 / 3)
    np.testing.assert_allclose(X[:3, 0], [-1 / sd, 0, 1 / sd])
    assert np.isnan(X[3, 0])
    np.testing.assert_array_equal(X[:, 1], [0, 0, 0, 0])  # std 0 divides by 1
    _, X = run([{"type": "minmax_scale", "columns": ["x", "c"]}], frame)
    np.testing.assert_array_equal(X[:3, 0], [0, 0.5, 1])
    np.testing.assert_array_equal(X[:, 1], [0, 0, 0, 0])  # range 0 -> 0


def test_log_is_signed_log1p():
    frame = pd.DataFrame({"x": [-math.e + 1, 0.0, math.e - 1, np.nan]})
    _, X = run([{"type": "log", "columns": ["x"]}], frame)
    np.testing.assert_allclose(X[:3, 0], [-1, 0, 1])
    assert np.isnan(X[3, 0])


def test_bucketize_boundaries_and_quantiles():
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, np.nan]})
    pipe, X = run([{"type": "bucketize", "columns": ["x"], "boundaries": [2, 5]}], frame)
    np.testing.assert_array_equal(X[:8, 0], [0, 0, 1, 1, 1, 2, 2, 2])  # boundaries[i-1] <= x < boundaries[i]
    assert np.isnan(X[8, 0])
    pipe, X = run([{"type": "bucketize", "columns": ["x"], "n_buckets": 4}], frame)
    assert pipe.to_json()["steps"][0]["state"]["x"] == [1.75, 3.5, 5.25]
    np.testing.assert_array_equal(X[:8, 0], [0, 0, 1, 1, 2, 2, 3, 3])


def test_one_hot_expands_in_place_keeps_most_frequent(mixed_frame):
    steps = [{"type": "one_hot", "columns": ["city"], "max_categories": 2}]
    pipe, X = run(steps, mixed_frame, ["age", "city", "income"])
    # a (3 rows) and then b/c tie at 1: the tie goes to the smaller value, b
    assert pipe.output_columns == ["age", "city=a", "city=b", "income"]
    np.testing.assert_array_equal(X[:, 1:3], [[1, 0], [0, 1], [1, 0], [0, 0], [0, 0], [1, 0]])
    assert pipe.transform_row({"age": 1, "city": "unseen", "income": 2}).tolist() == [1, 0, 0, 2]


def test_one_hot_numbers_share_keys_across_int_and_float():
    pipe = Pipeline([{"type": "one_hot", "columns": ["n"]}], ["n"]).fit(pd.DataFrame({"n": [1, 2, 2]}))
    assert pipe.output_columns == ["n=1", "n=2"]
    assert pipe.transform_row({"n": 2.0}).tolist() == [0, 1]
    assert pipe.transform(pd.DataFrame({"n": [1.0, np.nan]})).tolist() == [[1, 0], [0, 0]]


def test_hash_is_stable_crc32(mixed_frame):
    pipe, X = run([{"type": "hash", "columns": ["city"], "n_buckets": 7}], mixed_frame, ["city"])
    assert X[0, 0] == zlib.crc32(b"a") % 7
    assert X[1, 0] == zlib.crc32(b"b") % 7
    assert np.isnan(X[3, 0])
    assert pipe.transform_row({"city": "never seen"})[0] == zlib.crc32(b"never seen") % 7


def test_label_encode_unknown_is_minus_one(mixed_frame):
    pipe, X = run([{"type": "label_encode", "columns": ["city"]}], mixed_frame, ["city"])
    assert pipe.to_json()["steps"][0]["state"]["city"] == ["a", "b", "c"]
    assert X[:, 0].tolist()[:3] == [0, 1, 0] and np.isnan(X[3, 0])
    assert pipe.transform(pd.DataFrame({"city": ["q"]}))[0, 0] == -1


def test_steps_chain_on_one_column():
    frame = pd.DataFrame({"x": [1.0, np.nan, 3.0]})
    steps = [{"type": "fill_missing", "columns": ["x"], "strategy": "mean"},
             {"type": "standard_scale", "columns": ["x"]}]
    pipe, X = run(steps, frame)
    np.testing.assert_allclose(X[:, 0], [-math.sqrt(1.5), 0, math.sqrt(1.5)])
    assert not np.isnan(X).any()


def test_json_round_trip_gives_the_same_pipeline(mixed_frame):
    steps = [{"type": "fill_missing", "columns": ["income"], "strategy": "median"},
             {"type": "standard_scale", "columns": ["income", "age"]},
             {"type": "bucketize", "columns": ["age"], "n_buckets": 3},
             {"type": "one_hot", "columns": ["city"]},
             {"type": "hash", "columns": ["active"], "n_buckets": 16}]
    pipe, X = run(steps, mixed_frame, ["age", "income", "city", "active"])
    doc = json.loads(json.dumps(pipe.to_json()))
    assert set(doc) >= {"inputs", "steps", "outputs"}
    assert all("state" in s for s in doc["steps"])
    back = Pipeline.from_json(doc)
    assert back.output_columns == pipe.output_columns
    np.testing.assert_array_equal(back.transform(mixed_frame), X)
    np.testing.assert_array_equal(rows_of(back, mixed_frame), X)
    assert back.to_json() == doc


# --- errors -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("steps, match", [
    ([{"type": "scale_it", "columns": ["x"]}], r"step 0 \(scale_it\).*does not match"),
    ([{"columns": ["x"]}], r"step 0 \(no type\)"),
    ([{"type": "log", "columns": ["x"]}, {"type": "one_hot", "columns": ["x"], "max_cats": 3}],
     r"step 1 \(one_hot\): field 'max_cats'"),
    ([{"type": "bucketize", "columns": ["x"]}], r"step 0 \(bucketize\).*exactly one of boundaries"),
    ([{"type": "bucketize", "columns": ["x"], "boundaries": [3, 1]}], "ascending"),
    ([{"type": "fill_missing", "columns": ["x"], "strategy": "constant"}], "needs a value"),
    ([{"type": "hash", "columns": ["x"], "n_buckets": 0}], r"field 'n_buckets'"),
    ([{"type": "log", "columns": ["y"]}], r"step 0 \(log\) names column 'y', which is not in inputs"),
    ([{"type": "one_hot", "columns": ["x"]}, {"type": "log", "columns": ["x"]}], "one_hot must be the last"),
])
def test_bad_steps_name_the_step_and_field(steps, match):
    with pytest.raises(MLError, match=match):
        Pipeline(steps, ["x"])


def test_missing_column_in_frame_is_named():
    pipe = Pipeline([], ["x", "y"])
    with pytest.raises(MLError, match=r"\['y'\] are not in the frame"):
        pipe.fit(pd.DataFrame({"x": [1.0]}))
    pipe.fit(pd.DataFrame({"x": [1.0], "y": [2.0]}))
    with pytest.raises(MLError, match=r"\['x'\] are not in the frame"):
        pipe.transform(pd.DataFrame({"y": [2.0]}))


def test_transform_before_fit_fails():
    pipe = Pipeline([], ["x"])
    with pytest.raises(MLError, match="not fitted"):
        pipe.transform(pd.DataFrame({"x": [1.0]}))
    with pytest.raises(MLError, match="not fitted"):
        pipe.transform_row({"x": 1.0})


def test_text_columns_need_an_encoding(mixed_frame):
    with pytest.raises(MLError, match=r"\['city'\] hold text.*one_hot, hash or label_encode"):
        Pipeline([], ["city"]).fit(mixed_frame)
    with pytest.raises(MLError, match=r"step 0 \(standard_scale\) needs numbers but column 'city'"):
        Pipeline([{"type": "standard_scale", "columns": ["city"]}], ["city"]).fit(mixed_frame)
    with pytest.raises(MLError, match="strategy 'mean' needs numbers but column 'city'"):
        Pipeline([{"type": "fill_missing", "columns": ["city"]}, {"type": "hash", "columns": ["city"]}],
                 ["city"]).fit(mixed_frame)


def test_text_sent_for_a_numeric_column_is_rejected(mixed_frame):
    pipe = Pipeline([], ["age"]).fit(mixed_frame)
    with pytest.raises(MLError, match="column 'age' must be a number"):
        pipe.transform_row({"age": "thirty"})
    with pytest.raises(MLError, match="column 'age' must be a number"):
        pipe.transform(pd.DataFrame({"age": ["thirty"]}))
