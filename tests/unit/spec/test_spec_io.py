from __future__ import annotations

import sys
from pathlib import Path

import pytest

from shoal.spec import (
    SpecError,
    Workflow,
    dump_json,
    dump_python,
    dump_yaml,
    load_dir,
    load_file,
    load_text,
    read_file,
    read_text,
)
from shoal.spec.validate import TaskTypeLookup

HELLO = Path(__file__).parent / "good" / "hello_ml.yaml"


def test_good_example_loads_and_validates(task_types: TaskTypeLookup) -> None:
    [wf] = load_file(HELLO, task_types=task_types)
    assert wf.name == "hello_ml"
    assert [t.name for t in wf.tasks] == ["extract", "check", "train", "skip_train", "report"]
    assert wf.task("train").retry_delay == 1.0 and wf.task("train").resources.memory == 512 * 2**20
    assert wf.task("check").config["default"] == "skip_train"
    assert str(wf.schedule.start) == "2026-01-01"  # type: ignore[union-attr]


@pytest.mark.parametrize(("dump", "fmt"), [(dump_yaml, "yaml"), (dump_json, "json"), (dump_python, "python")])
def test_good_example_round_trips(dump, fmt: str, task_types: TaskTypeLookup) -> None:  # type: ignore[no-untyped-def]
    [wf] = load_file(HELLO, task_types=task_types)
    text = dump(wf)
    [again] = load_text(text, fmt, f"hello.{fmt}", task_types)
    assert again == wf
    assert dump(again) == text


def test_yaml_dump_is_readable() -> None:
    text = dump_yaml(load_file(HELLO)[0])
    assert "    command: |\n      echo \"extracting ${region}" in text
    assert "    upstream: [check]\n    callable: examples.hello:train\n    retries: 2\n" in text
    assert "    retry_delay: 1s\n    timeout: 5m\n    resources:\n      memory: 512Mi\n" in text
    assert "catchup" not in text and "retry_backoff" not in text  # defaults are left out


def test_read_file_gives_source_dir_and_lines() -> None:
    [loaded] = read_file(HELLO)
    assert loaded.source == str(HELLO)
    assert loaded.source_dir == HELLO.parent.resolve()
    assert loaded.locate(("tasks", 2, "retry_delay")) == 23
    assert loaded.locate(("tasks", 2, "no_such_key")) == 18  # falls back to the task
    assert loaded.locate(("tasks", 1, "cases", 0, "then")) == 16
    assert loaded.locate(()) == 1


def test_several_yaml_documents_give_several_workflows() -> None:
    text = "name: a\ntasks: [{name: t, type: shell}]\n---\nname: b\ntasks: [{name: t, type: shell}]\n---\n"
    assert [w.name for w in load_text(text)] == ["a", "b"]
    [_, second] = read_text(text)
    assert second.locate(("tasks", 0)) == 5


def test_a_json_array_holds_several_workflows() -> None:
    text = '[\n{"name": "a", "tasks": [{"name": "t", "type": "shell"}]},\n{"name": "b", "tasks": 3}\n]'
    with pytest.raises(SpecError) as info:
        load_text(text, "json", "two.json")
    assert str(info.value).startswith("two.json:3: field 'tasks': expected a list")


def test_yaml_dates_stay_text_so_yaml_and_json_agree() -> None:
    [wf] = load_text("name: a\ntasks: [{name: t, type: shell, since: 2026-01-01}]")
    assert wf.tasks[0].config["since"] == "2026-01-01"


def test_every_problem_of_every_document_is_reported() -> None:
    text = "name: a\ntasks: []\n---\nname: b c\ntasks: [{name: t, type: shell}]\n"
    with pytest.raises(SpecError) as info:
        load_text(text, "yaml", "two.yaml")
    assert [p.line for p in info.value.problems] == [2, 4]


def test_unsupported_and_missing_files_are_spec_errors(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="unsupported file type"):
        load_file(tmp_path / "wf.toml")
    with pytest.raises(SpecError, match="no such file"):
        load_file(tmp_path / "wf.yaml")
    with pytest.raises(SpecError, match="unknown format 'xml'"):
        load_text("", "xml")


def test_python_file_imports_helpers_next_to_it_and_is_not_main(tmp_path: Path) -> None:
    (tmp_path / "helpers_for_wf.py").write_text("COMMAND = 'echo from helper'\n")
    (tmp_path / "pipeline.py").write_text(
        "from helpers_for_wf import COMMAND\n"
        "from shoal.spec.sdk import workflow\n"
        "with workflow('pipe') as wf:\n"
        "    wf.shell('a', command=COMMAND)\n"
        "built = wf.build()\n"  # the same workflow twice is not a duplicate
        "if __name__ == '__main__':\n"
        "    raise SystemExit('must not run')\n"
    )
    [loaded] = read_file(tmp_path / "pipeline.py")
    assert loaded.workflow.tasks[0].config == {"command": "echo from helper"}
    assert loaded.source_dir == tmp_path.resolve()
    assert loaded.locate(("tasks", 0, "command")) == 4
    assert str(tmp_path.resolve()) not in sys.path
    sys.modules.pop("helpers_for_wf", None)


def test_load_dir_reads_every_workflow_file_in_name_order(tmp_path: Path, task_types: TaskTypeLookup) -> None:
    (tmp_path / "b.yaml").write_text("name: b\ntasks: [{name: t, type: shell, command: echo}]\n")
    (tmp_path / "a.json").write_text('{"name": "a", "tasks": [{"name": "t", "type": "shell", "command": "x"}]}')
    (tmp_path / "c.py").write_text("from shoal.spec.sdk import workflow\nwf = workflow('c')\nwf.shell('t', 'x')\n")
    (tmp_path / "_helper.py").write_text("raise RuntimeError('helpers are not workflows')\n")
    (tmp_path / "notes.txt").write_text("not a workflow")
    assert [w.name for w in load_dir(tmp_path, task_types)] == ["a", "b", "c"]


def test_load_dir_rejects_a_workflow_name_defined_in_two_files(tmp_path: Path) -> None:
    for name in ("one.yaml", "two.yaml"):
        (tmp_path / name).write_text("name: same\ntasks: [{name: t, type: shell}]\n")
    twice = r"two.yaml:1: field 'name': workflow 'same' is defined twice \(also at .*one.yaml:1\)"
    with pytest.raises(SpecError, match=twice):
        load_dir(tmp_path)


def test_load_dir_collects_problems_of_all_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("name: a\ntasks: []\n")
    (tmp_path / "b.yaml").write_text("name: [\n")
    with pytest.raises(SpecError) as info:
        load_dir(tmp_path)
    assert [Path(p.file or "").name for p in info.value.problems] == ["a.yaml", "b.yaml"]


def test_dump_python_writes_keys_that_are_not_identifiers() -> None:
    wf = Workflow.model_validate(
        {"name": "w", "tasks": [{"name": "t-1", "type": "http", "class": "x", "content-type": "json"}]}
    )
    text = dump_python(wf)
    assert "**{'class': 'x', 'content-type': 'json'}" in text
    assert load_text(text, "python") == [wf]


def test_awkward_strings_survive_yaml() -> None:
    odd = ["a\r\nb", "x\x85y", "trailing \n", "\ttab\n", "  indented\nfirst", "ends with newlines\n\n\n", "é中"]
    wf = Workflow.model_validate({"name": "w", "tasks": [{"name": "t", "type": "shell", "lines": odd}]})
    assert load_text(dump_yaml(wf)) == [wf]


PARAM_TEXTS = {
    "decimal": "1.10", "clock": "12:30", "octal": "0700", "no": "NO", "yes": "yes", "exp": "1e3", "hex": "0x1F",
    "inf": ".inf", "underscore": "1_000", "int": "10", "quoted": "10", "word": "cn",
}


def test_unquoted_param_and_env_values_keep_their_text_not_yaml_1_1_guesses(task_types: TaskTypeLookup) -> None:
    text = (
        "name: wf\n"
        "params: {decimal: 1.10, clock: 12:30, octal: 0700, no: NO, yes: yes, exp: 1e3, hex: 0x1F,\n"
        "         inf: .inf, underscore: 1_000, int: 10, quoted: \"10\", word: cn}\n"
        "tasks:\n"
        "  - &base {name: a, type: shell, params: {version: 1.10}, env: {MODE: 0755, DEBUG: on}}\n"
        "  - {<<: *base, name: b}\n"
    )
    [wf] = load_text(text)
    assert wf.params == PARAM_TEXTS
    for task in wf.tasks:
        assert task.params == {"version": "1.10"} and task.env == {"MODE": "0755", "DEBUG": "on"}
    for dump, fmt in ((dump_yaml, "yaml"), (dump_json, "json"), (dump_python, "python")):
        [again] = load_text(dump(wf), fmt)
        assert again == wf, fmt
    # The example is unchanged: it validates and an export re-applies as the same version.
    [hello] = load_file(HELLO, task_types=task_types)
    assert hello.params == {"threshold": "10", "region": "cn"}
    for dump, fmt in ((dump_yaml, "yaml"), (dump_json, "json"), (dump_python, "python")):
        [again] = load_text(dump(hello), fmt, f"hello.{fmt}", task_types)
        assert again.spec_hash() == hello.spec_hash()


def test_json_param_numbers_keep_their_text() -> None:
    text = '[{"name": "a", "params": {"v": 1.10, "n": 1e3, "b": true}, "tasks": [{"name": "t", "type": "shell",'
    text += ' "env": {"E": 2.50}}]}, {"name": "b", "params": {"v": 0.50}, "tasks": [{"name": "t", "type": "shell"}]}]'
    first, second = load_text(text, "json")
    assert first.params == {"v": "1.10", "n": "1e3", "b": "true"} and first.tasks[0].env == {"E": "2.50"}
    assert second.params == {"v": "0.50"}

