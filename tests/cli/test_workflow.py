"""`shoal workflow export|apply`: formats follow file names, and empty input is an error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import HELLO, assert_nothing_stored


@pytest.mark.parametrize("suffix", ["json", "py"])
def test_export_takes_the_format_from_the_file_name(cli, tmp_path: Path, suffix: str) -> None:  # type: ignore[no-untyped-def]
    cli("workflow", "apply", str(HELLO))
    out = tmp_path / f"exported.{suffix}"
    r = cli("workflow", "export", "hello_ml", "-o", str(out))
    assert r.exit_code == 0, r.output
    text = out.read_text()
    if suffix == "json":
        assert json.loads(text)["name"] == "hello_ml"
    else:
        assert "from shoal.spec.sdk import workflow" in text
    r = cli("workflow", "apply", str(out))
    assert r.exit_code == 0 and "unchanged" in r.output, r.output


def test_export_refuses_a_format_that_contradicts_the_file_name(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("workflow", "apply", str(HELLO))
    out = tmp_path / "exported.json"
    r = cli("workflow", "export", "hello_ml", "--format", "yaml", "-o", str(out))
    assert r.exit_code == 2 and "contradicts" in r.output
    assert not out.exists()
    # An extension that names no format keeps the explicit (or default) one.
    r = cli("workflow", "export", "hello_ml", "--format", "json", "-o", str(tmp_path / "exported.txt"))
    assert r.exit_code == 0 and json.loads((tmp_path / "exported.txt").read_text())["name"] == "hello_ml"


def test_export_into_a_missing_directory_exits_2(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("workflow", "apply", str(HELLO))
    out = tmp_path / "no" / "such" / "dir" / "x.yaml"
    r = cli("workflow", "export", "hello_ml", "-o", str(out))
    assert r.exit_code == 2
    flat = " ".join(r.output.split())
    assert "does not exist" in flat and "Traceback" not in flat
    r = cli("workflow", "export", "hello_ml", "-o", str(tmp_path))
    assert r.exit_code == 2 and "is a directory" in r.output


def test_apply_of_nothing_exits_2(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "empty"
    empty.mkdir()
    nested = tmp_path / "nested"
    (nested / "inner").mkdir(parents=True)
    (nested / "inner" / "w.yaml").write_text("name: w\ntasks: [{name: x, type: shell, command: 'true'}]\n")
    (nested / "_helper.py").write_text("X = 1\n")
    no_items = tmp_path / "none.json"
    no_items.write_text("[]\n")
    for path in (empty, nested, no_items):
        r = cli("workflow", "apply", str(path))
        assert r.exit_code == 2, (path, r.output)
        assert f"no workflows found in {path}" in r.output
    assert_nothing_stored(cli)
