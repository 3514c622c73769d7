from __future__ import annotations

import sys
from pathlib import Path

import pytest

from shoal.spec import Resources, Schedule, SpecError, load_file
from shoal.spec.sdk import WorkflowBuilder, workflow

HELLO = Path(__file__).parent / "good" / "hello_ml.yaml"


def test_sdk_builds_the_same_workflow_as_the_yaml_example() -> None:
    with workflow(
        "hello_ml",
        description="extract, branch on a value, retry a flaky step",
        params={"threshold": 10, "region": "cn"},
        schedule=Schedule(cron="0 2 * * *", timezone="Asia/Shanghai", start="2026-01-01"),  # type: ignore[arg-type]
    ) as wf:
        extract = wf.shell(
            "extract",
            command='echo "extracting ${region} for ${ds}, yesterday was $[yyyyMMdd-1]"\n'
            'echo "##shoal:set rows=42"\n',
        )
        check = wf.task(
            "check", type="switch", upstream=[extract],
            cases=[{"when": "${extract.rows} > ${threshold}", "then": "train"}], default="skip_train",
        )
        train = wf.python(
            "train", callable="examples.hello:train", retries=2, retry_delay="1s", timeout="5m",
            resources=Resources(cpu=1, memory="512Mi"),  # type: ignore[arg-type]
        )
        skip = wf.shell("skip_train", 'echo "not enough rows"')
        report = wf.shell("report", command='echo "auc=${train.auc}"', upstream=["train"])
        check >> [train, skip]
    assert wf.build() == load_file(HELLO)[0]
    assert report.name == "report"


def test_shift_operators_add_upstream_edges_in_both_directions() -> None:
    wf = workflow("edges")
    a, b, c, d = (wf.shell(n, "echo") for n in "abcd")
    a >> b >> c
    [a, b] >> d
    d << c
    a >> b  # adding an edge twice keeps one
    c << [a]
    built = wf.build()
    assert {t.name: t.upstream for t in built.tasks} == {"a": [], "b": ["a"], "c": ["b", "a"], "d": ["a", "b", "c"]}


def test_build_errors_point_at_the_line_of_the_task() -> None:
    wf = workflow("bad")
    wf.shell("ok", "echo")
    line = sys._getframe().f_lineno + 1
    wf.shell("bad", "echo", retries=-1)
    with pytest.raises(SpecError) as info:
        wf.build()
    [p] = info.value.problems
    assert (p.file, p.line, p.task, p.field) == (__file__, line, "bad", "retries")


def test_leaving_the_with_block_validates() -> None:
    with pytest.raises(SpecError, match="a workflow needs at least one task"):
        with workflow("empty"):
            pass


def test_with_block_does_not_mask_an_error_raised_inside() -> None:
    with pytest.raises(KeyError):
        with workflow("w") as wf:
            wf.shell("a", "echo")
            raise KeyError("mine")


def test_builder_keeps_plain_data_until_build() -> None:
    wf = WorkflowBuilder("raw", project="p", max_active_tasks=2)
    wf.python("train", script="print(1)", isolation="worker")
    assert wf.to_dict() == {
        "name": "raw", "project": "p", "max_active_tasks": 2,
        "tasks": [{"name": "train", "type": "python", "script": "print(1)", "isolation": "worker"}],
    }
    assert repr(wf.python("t2")) == "<task 't2' of workflow 'raw'>"


def read_py(tmp_path: Path, source: str) -> list[str]:
    path = tmp_path / "wfs.py"
    path.write_text(source)
    return [w.name for w in load_file(path)]


def test_every_with_block_of_a_file_is_a_workflow(tmp_path: Path) -> None:
    with workflow("outside_any_file") as outside:  # not run by a workflow file: never collected
        outside.shell("a", command="x")
    source = (
        "from shoal.spec.sdk import workflow\n"
        "with workflow('first') as wf:\n"
        "    wf.shell('a', command='echo 1')\n"
        "with workflow('second') as wf:\n"
        "    wf.shell('a', command='echo 2')\n"
        "plain = workflow('plain')\n"  # a module-level builder without `with` still counts
        "plain.shell('a', command='echo 3')\n"
    )
    assert read_py(tmp_path, source) == ["first", "second", "plain"]


def test_workflows_made_in_a_loop_or_a_function_are_all_collected(tmp_path: Path) -> None:
    source = (
        "from shoal.spec.sdk import workflow\n"
        "def make(name):\n"
        "    with workflow(name) as w:\n"
        "        w.shell('a', command='echo')\n"
        "for region in ['cn', 'us', 'eu']:\n"
        "    with workflow(f'etl_{region}') as wf:\n"
        "        wf.shell('extract', command=f'echo {region}')\n"
        "make('helper_made')\n"
        "kept = wf\n"  # also a module-level name: still one workflow
        "built = wf.build()\n"
    )
    assert read_py(tmp_path, source) == ["etl_cn", "etl_us", "etl_eu", "helper_made"]

