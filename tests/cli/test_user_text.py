"""Text from users and tasks is printed as written: a `[...]` in it is never rich markup."""

from __future__ import annotations

import json
from pathlib import Path


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_a_description_with_brackets_is_listed_as_written(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "etl.yaml"
    f.write_text(
        'name: etl\ndescription: "nightly [/etl] job [bold]"\ntasks: [{name: x, type: shell, command: "true"}]\n'
    )
    assert cli("workflow", "apply", str(f)).exit_code == 0
    r = cli("workflow", "list")
    assert r.exit_code == 0, r.output
    assert "nightly [/etl] job [bold]" in r.output


def test_a_source_dir_with_brackets_is_shown_as_written(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "[team]"
    folder.mkdir()
    (folder / "w.yaml").write_text("name: w\ntasks: [{name: x, type: shell, command: 'true'}]\n")
    assert cli("workflow", "apply", str(folder)).exit_code == 0
    r = cli("workflow", "show", "w")
    assert r.exit_code == 0 and "[team]" in _flat(r.output), r.output
    out = folder / "again.yaml"
    r = cli("workflow", "export", "w", "-o", str(out))
    assert r.exit_code == 0 and "[team]" in _flat(r.output), r.output


def test_task_errors_outputs_and_params_with_brackets(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "br.yaml"
    f.write_text(
        "name: br\nparams: {tag: none}\ntasks:\n"
        "  - {name: s, type: shell, command: 'echo \"##shoal:set label=[prod] model\"'}\n"
        "  - {name: p, type: python, upstream: [s], script: 'raise KeyError(\"[/col]\")'}\n"
    )
    assert cli("workflow", "apply", str(f)).exit_code == 0
    r = cli("run", "br", "--wait", "-p", "tag=[red]x")
    assert r.exit_code == 1  # the task failed; the live view did not crash on its error
    assert "[/col]" in r.output
    run_id = str(json.loads(cli("runs", "list", "--json").output)[0]["id"])
    r = cli("runs", "show", run_id)
    assert r.exit_code == 0, r.output
    flat = _flat(r.output)
    assert "KeyError: '[/col]'" in flat
    assert "{'label': '[prod] model'}" in flat
    assert "{'tag': '[red]x'}" in flat
