"""Every file under bad/ must be rejected with a message naming the file, task, field and line.

Each file starts with comment lines stating what the error must say (JSON files, which cannot hold
comments, keep them in a sibling `<name>.expect`):

    # expect: <fragment of the message>     (one or more)
    # task: <task name>                      -> "task '<name>'" in the same problem line
    # field: <field>                         -> "field '<field>'" in the same problem line
    # line: <n>                              -> "<file>:<n>:" in the same problem line
"""

from __future__ import annotations

from pathlib import Path

import pytest

from shoal.spec import SpecError, load_file
from shoal.spec.validate import TaskTypeLookup

BAD = Path(__file__).parent / "bad"
CORPUS = sorted(p for p in BAD.iterdir() if p.suffix in (".yaml", ".json", ".py"))


def read_expectations(path: Path) -> dict[str, list[str]]:
    header = path.with_name(path.name + ".expect") if path.suffix == ".json" else path
    expected: dict[str, list[str]] = {}
    for line in header.read_text().splitlines():
        if not line.startswith("# "):
            break
        key, _, value = line[2:].partition(": ")
        expected.setdefault(key, []).append(value)
    return expected


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 35


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_bad_workflow_is_rejected_with_where_and_why(path: Path, task_types: TaskTypeLookup) -> None:
    expected = read_expectations(path)
    assert expected.get("expect"), f"{path.name} has no '# expect:' header"

    with pytest.raises(SpecError) as info:
        load_file(path, task_types=task_types)

    text = str(info.value)
    for fragment in expected["expect"]:
        assert fragment in text
    # The problem that carries the first fragment names where it is.
    line = next(line for line in text.splitlines() if expected["expect"][0] in line)
    assert line.startswith(str(path)), line
    for task in expected.get("task", []):
        assert f"task {task!r}" in line
    for field in expected.get("field", []):
        assert f"field {field!r}" in line
    for number in expected.get("line", []):
        assert line.startswith(f"{path}:{number}:"), line
