"""A workflow file is untrusted input: alias bombs, deep nesting, NUL and non-UTF-8 bytes, huge
files and huge numbers get one clear problem naming the file and line, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shoal.spec import SpecError, Workflow, load_file, load_text, read_text
from shoal.spec import io as spec_io
from shoal.spec.validate import MAX_NESTING, TaskTypeLookup, validate_workflow

HEAD = "name: w\ntasks:\n  - name: t\n    type: shell\n    command: 'true'\n"


def only_problem(exc: pytest.ExceptionInfo[SpecError]) -> str:
    [problem] = exc.value.problems
    text = str(problem)
    assert "\n" not in text
    return text


def alias_bomb(levels: int, width: int = 9) -> str:
    """`levels` anchors, each aliasing the one before `width` times: width**levels nodes."""
    lines = [HEAD.rstrip("\n"), f"    l0: &l0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"    l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


# --- aliases ------------------------------------------------------------------------------------


def test_an_alias_bomb_is_refused_at_the_alias_that_passes_the_budget(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(alias_bomb(9))  # 9**9 = 387 million nodes expanded, from 500 bytes
    assert bomb.stat().st_size < 600
    with pytest.raises(SpecError) as info:
        load_file(bomb)
    text = only_problem(info)
    # The first alias of l5 (about 600,000 nodes) in l6 passes a million.
    assert text.startswith(f"{bomb}:12: aliases expand to more than 1,000,000 nodes by here (alias *l5)")
    assert "alias bomb" in text


def test_the_alias_budget_counts_nodes_as_if_aliases_were_written_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spec_io, "MAX_ALIAS_NODES", 50)
    small = alias_bomb(2, width=5)  # l1 = 5 aliases of l0's 6 nodes: 30 nodes added
    assert load_text(small)[0].task("t").config["l1"] == [["lol"] * 5] * 5
    with pytest.raises(SpecError, match=r"^<string>:8: aliases expand to more than 50 nodes by here \(alias \*l1\)"):
        load_text(alias_bomb(3, width=5))  # l2's first alias adds l1's 31 nodes: 61


def test_aliases_for_shared_defaults_stay_within_the_budget(task_types: TaskTypeLookup) -> None:
    first = "  - &base {name: t0, type: shell, command: echo, retries: 2, resources: {cpu: 1, memory: 1Gi}}\n"
    rest = "".join(f"  - <<: *base\n    name: t{i}\n" for i in range(1, 20_000))
    [wf] = load_text("name: w\ntasks:\n" + first + rest, task_types=task_types)
    assert len(wf.tasks) == 20_000 and wf.task("t19999").retries == 2


def test_an_alias_inside_its_own_anchor_is_refused() -> None:
    with pytest.raises(SpecError) as info:
        load_text(HEAD + "    loop: &loop [a, *loop]\n", source_name="w.yaml")
    assert only_problem(info) == (
        "w.yaml:6: alias *loop is used inside its own anchor: the value would contain itself without end"
    )


# --- nesting ------------------------------------------------------------------------------------


def nested(levels: int) -> str:
    """A task key holding `levels` lists inside each other: the innermost is at level 3 + levels."""
    return HEAD + "    deep: " + "[" * levels + "]" * levels + "\n"


def test_nesting_up_to_the_limit_loads_and_one_more_level_is_refused() -> None:
    inside = MAX_NESTING - 3  # the document, `tasks` and the task are the first three levels
    [wf] = load_text(nested(inside))
    assert "deep" in wf.task("t").config
    validate_workflow(wf, None)  # the check of values built in code agrees on where the limit is
    # One level more, in the model itself (`config` is a copy):
    wf.tasks[0].__pydantic_extra__["deep"] = [wf.tasks[0].__pydantic_extra__["deep"]]  # type: ignore[index]
    with pytest.raises(SpecError, match="field 'deep': lists and mappings nest deeper than 64"):
        validate_workflow(wf, None)
    with pytest.raises(SpecError) as info:
        load_text(nested(inside + 1), source_name="w.yaml")
    assert only_problem(info).startswith(f"w.yaml:6: lists and mappings nest deeper than {MAX_NESTING} levels")


@pytest.mark.parametrize("levels", [100, 5_000, 100_000])
def test_deep_yaml_is_a_clear_error_not_a_recursion_error(levels: int) -> None:
    with pytest.raises(SpecError, match=r"^w\.yaml:6: lists and mappings nest deeper than 64 levels"):
        load_text(nested(levels), source_name="w.yaml")


def test_deep_block_yaml_names_the_line_where_the_limit_is_passed() -> None:
    block = "".join("  " * (i + 3) + "-\n" for i in range(2_000))  # a list in a list in ...
    with pytest.raises(SpecError) as info:
        load_text(HEAD + "    deep:\n" + block, source_name="w.yaml")
    # The list at line 7 is level 4; level 65 is 61 lines further.
    assert only_problem(info).startswith("w.yaml:68: lists and mappings nest deeper than 64 levels")


@pytest.mark.parametrize("levels", [100, 5_000])
def test_deep_json_is_a_clear_error_not_a_recursion_error(levels: int) -> None:
    text = json.dumps({"name": "w", "tasks": [{"name": "t", "type": "shell", "command": "true", "deep": []}]})
    text = text.replace("[]", "\n" + "[" * levels + "]" * levels)
    with pytest.raises(SpecError) as info:
        load_text(text, "json", "w.json")
    assert only_problem(info).startswith("w.json:2: lists and mappings nest deeper than 64 levels")


def test_an_alias_that_makes_a_value_too_deep_is_refused() -> None:
    inner = "[" * 40 + "]" * 40
    text = HEAD + f"    a: &a {inner}\n    b: {'[' * 30}*a{']' * 30}\n"
    with pytest.raises(SpecError, match=r"^w\.yaml:7: alias \*a: lists and mappings nest deeper than 64"):
        load_text(text, source_name="w.yaml")


def test_deep_values_built_in_python_are_refused_with_the_task_and_key(tmp_path: Path) -> None:
    sdk = tmp_path / "deep.py"
    sdk.write_text(
        "from shoal.spec.sdk import workflow\n"
        "value = []\n"
        "for _ in range(5000):\n"
        "    value = [value]\n"
        "with workflow('w') as wf:\n"
        "    wf.task('t', type='shell', command='true', deep=value)\n"
    )
    with pytest.raises(SpecError) as info:
        load_file(sdk)
    assert only_problem(info) == (
        f"{sdk}:6: task 't', field 'deep': lists and mappings nest deeper than 64 levels here: "
        "a workflow is not meant to hold data this deep; keep it in a file the task reads"
    )


def test_validate_workflow_refuses_deep_values_from_code(task_types: TaskTypeLookup) -> None:
    value: list[object] = []
    for _ in range(5000):
        value = [value]
    wf = Workflow.model_validate({"name": "w", "tasks": [{"name": "t", "type": "shell", "command": "x", "d": value}]})
    with pytest.raises(SpecError) as info:
        validate_workflow(wf, task_types)
    assert "task 't', field 'd': lists and mappings nest deeper than 64 levels" in only_problem(info)


# --- bytes and characters -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "where"),
    [
        ("w.yaml", HEAD.replace("'true'", '"tr\0ue"'), ":5: the file holds a NUL character at column 17"),
        ("w.json", '{"name": "w",\n "tasks": [\0]}', ":2: the file holds a NUL character at column 12"),
        ("w.py", "from shoal.spec.sdk import workflow\nX = '\0'\n", ":2: the file holds a NUL character at column 6"),
    ],
)
def test_a_nul_character_is_refused_with_its_line_and_column(
    tmp_path: Path, name: str, content: str, where: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content.encode())
    with pytest.raises(SpecError) as info:
        load_file(path)
    assert only_problem(info).startswith(f"{path}{where}: a workflow file is text")


@pytest.mark.parametrize("name", ["w.yaml", "w.json", "w.py"])
def test_bytes_that_are_not_utf8_are_refused_with_their_line_and_column(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b'{"name": "w",\n "d\xc3\xa9j\xe0": 1}\n')  # latin-1 after a UTF-8 character
    with pytest.raises(SpecError) as info:
        load_file(path)
    assert only_problem(info) == (
        f"{path}:2: the file is not UTF-8 text: byte 0xe0 at column 6 is not valid UTF-8 "
        "(convert the file to UTF-8, e.g. with iconv)"
    )


def test_a_python_file_declaring_its_encoding_may_use_it(tmp_path: Path) -> None:
    path = tmp_path / "w.py"
    path.write_bytes(
        b"# -*- coding: latin-1 -*-\nfrom shoal.spec.sdk import workflow\n"
        b"with workflow('w') as wf:\n    wf.shell('t', command='echo caf\xe9')\n"
    )
    [wf] = load_file(path)
    assert wf.task("t").config["command"] == "echo café"


def test_a_yaml_control_character_is_refused_with_its_line() -> None:
    with pytest.raises(SpecError) as info:
        load_text(HEAD.replace("'true'", "'tr\x07ue'"), source_name="w.yaml")
    assert only_problem(info).startswith(
        "w.yaml:5: invalid YAML at column 17: the control character U+0007 is not allowed in YAML"
    )


@pytest.mark.parametrize(("fmt", "text"), [
    ("yaml", HEAD + "    retries: " + "9" * 5000 + "\n"),
    ("json", '{"name": "w",\n "tasks": [{"name": "t", "type": "shell", "command": "x", "retries": '
     + "9" * 5000 + "}]}"),
])
def test_a_number_too_long_to_read_is_a_clear_error(fmt: str, text: str) -> None:
    with pytest.raises(SpecError) as info:
        load_text(text, fmt, f"w.{fmt}")
    message = only_problem(info)
    assert message.startswith(f"w.{fmt}:{6 if fmt == 'yaml' else 2}: invalid ")
    assert "quote it to keep it as text" in message


def test_a_long_sexagesimal_number_is_refused_before_it_is_computed() -> None:
    # YAML 1.1 reads 1:2:3 as 3723; 100,000 parts would take minutes of big-int arithmetic.
    with pytest.raises(SpecError, match="is too long to read"):
        load_text(HEAD + "    n: 1" + ":59" * 100_000 + "\n")


# --- size ---------------------------------------------------------------------------------------


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as f:  # sparse: 60 MiB on paper, nothing on disk
        f.write(HEAD.encode())
        f.truncate(60 * 2**20)
    reads: list[int] = []
    real_read_bytes = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: reads.append(1) or real_read_bytes(self))
    with pytest.raises(SpecError) as info:
        load_file(huge)
    assert only_problem(info).startswith(
        f"{huge}: the file is 60.0 MiB, larger than the 10.0 MiB a workflow file may be"
    )
    assert not reads


def test_text_over_the_size_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spec_io, "MAX_FILE_BYTES", 1000)
    load_text(HEAD + "#" * 500 + "\n")
    with pytest.raises(SpecError, match=r"^w\.yaml: the file is 1,0\d\d bytes, larger than the 1,000 bytes"):
        read_text(HEAD + "#" * 1000 + "\n", "yaml", "w.yaml")
    with pytest.raises(SpecError, match="larger than the 1,000 bytes"):
        read_text(HEAD + "é" * 500 + "\n", "yaml", "w.yaml")  # 500 characters, 1,000 bytes


# --- syntax errors keep PyYAML's words ----------------------------------------------------------


def test_a_syntax_error_is_worded_as_before() -> None:
    with pytest.raises(SpecError) as info:
        load_text("name: w\ntasks: [{name: t, type: shell, command: echo ${ds}}]\n", source_name="w.yaml")
    message = only_problem(info)
    assert message.startswith("w.yaml:2: invalid YAML at column ")
    assert "expected ',' or '}', but got '{'" in message


def test_a_value_in_several_places_is_not_taken_for_a_deep_one() -> None:
    [wf] = load_text(HEAD + "    a: &x [[1, 2]]\n    b: {c: *x}\n    d: [*x, *x, *x]\n")
    assert wf.task("t").config["d"] == [[[1, 2]]] * 3
    validate_workflow(wf, None)
    deep: list[object] = []
    for _ in range(MAX_NESTING - 6):  # 59 lists: the innermost at level 64 under v[2].k
        deep = [deep]
    task = {"name": "t", "type": "x", "v": [deep, deep, {"k": deep}]}
    built = Workflow.model_validate({"name": "w", "tasks": [task]})
    validate_workflow(built, None)
