"""`shoal workflow apply` on hostile files: one error line naming the file, exit 2, nothing stored."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import assert_nothing_stored

HEAD = "name: w\ntasks:\n  - name: t\n    type: shell\n    command: 'true'\n"
BOMB = HEAD + "    l0: &l0 [a, a, a, a, a, a, a, a, a, a]\n" + "".join(
    f"    l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 9)
)

HOSTILE: dict[str, tuple[bytes, str]] = {
    "alias_bomb.yaml": (BOMB.encode(), ":11: aliases expand to more than 1,000,000 nodes"),
    "deep.yaml": ((HEAD + "    x: " + "[" * 5000 + "]" * 5000 + "\n").encode(), ":6: lists and mappings nest deeper"),
    "deep.json": (
        b'{"name": "w", "tasks": [{"name": "t", "type": "shell", "command": "true",\n "x": '
        + b"[" * 5000 + b"]" * 5000 + b"}]}",
        ":2: lists and mappings nest deeper",
    ),
    "nul.yaml": (HEAD.replace("'true'", "'tr\0ue'").encode(), ":5: the file holds a NUL character"),
    "latin1.yaml": (HEAD.replace("'true'", "'caf\xe9'").encode("latin-1"), ":5: the file is not UTF-8 text"),
    "loop.yaml": ((HEAD + "    x: &x [*x]\n").encode(), ":6: alias *x is used inside its own anchor"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_file_is_refused_in_one_line_and_nothing_is_stored(cli, tmp_path: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    content, expected = HOSTILE[name]
    path = tmp_path / name
    path.write_bytes(content)
    r = cli("workflow", "apply", str(path))
    assert r.exit_code == 2, r.output
    flat = " ".join(r.output.split())  # rich wraps long lines
    assert flat.startswith(f"error: {path}{expected}"), flat
    assert "Traceback" not in flat
    assert_nothing_stored(cli)


def test_an_oversized_file_is_refused_and_nothing_is_stored(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "huge.yaml"
    with path.open("wb") as f:
        f.write(HEAD.encode())
        f.truncate(60 * 2**20)  # sparse
    r = cli("workflow", "apply", str(path))
    assert r.exit_code == 2, r.output
    assert "larger than the 10.0 MiB a workflow file may be" in " ".join(r.output.split())
    assert_nothing_stored(cli)


def test_a_directory_with_one_hostile_file_stores_none_of_them(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "good.yaml").write_text(HEAD.replace("name: w", "name: good"))
    (tmp_path / "bomb.yaml").write_text(BOMB)
    r = cli("workflow", "apply", str(tmp_path))
    assert r.exit_code == 2 and "alias bomb" in r.output
    assert_nothing_stored(cli)
