from __future__ import annotations

import pytest

from shoal.errors import InvalidInput
from shoal.spec import Problem, SpecError


@pytest.mark.parametrize(
    ("problem", "text"),
    [
        (
            Problem("hello.yaml", 14, "check", "cases[0].then", "'trainx' is not a downstream task of 'check'"),
            "hello.yaml:14: task 'check', field 'cases[0].then': 'trainx' is not a downstream task of 'check'",
        ),
        (Problem("hello.yaml", None, "a", None, "boom"), "hello.yaml: task 'a': boom"),
        (Problem(None, 3, None, "name", "bad"), "line 3: field 'name': bad"),
        (Problem(None, None, None, None, "just this"), "just this"),
    ],
)
def test_problem_prints_only_the_parts_it_knows(problem: Problem, text: str) -> None:
    assert str(problem) == text


def test_spec_error_lists_every_problem_one_per_line() -> None:
    err = SpecError([Problem("a.yaml", 1, None, None, "one"), Problem("a.yaml", 2, "t", "f", "two")])
    assert str(err) == "a.yaml:1: one\na.yaml:2: task 't', field 'f': two"
    assert isinstance(err, InvalidInput) and isinstance(err, ValueError)
    assert err.code == "spec_error"
    assert err.details["problems"][1] == {"file": "a.yaml", "line": 2, "task": "t", "field": "f", "message": "two"}


def test_with_file_fills_only_unknown_files() -> None:
    err = SpecError([Problem(None, 1, None, None, "x"), Problem("other.py", 2, None, None, "y")]).with_file("wf.py")
    assert [p.file for p in err.problems] == ["wf.py", "other.py"]


def test_spec_error_needs_a_problem() -> None:
    with pytest.raises(ValueError):
        SpecError([])
