"""`shoal init` creates the instance admin and prints its token once; `shoal user|token|project`
manage who may use a shared shoal. Secrets are printed once and never listed."""

from __future__ import annotations

import json

from shoal.config import Settings
from shoal.services import users
from shoal.store import open_store


def _token_line(output: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(users.TOKEN_PREFIX))


def test_init_prints_the_admin_token_once_and_it_authenticates(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    first = cli("init")
    assert first.exit_code == 0 and "instance admin: admin" in first.output, first.output
    token = _token_line(first.output)
    again = cli("init")
    assert again.exit_code == 0 and users.TOKEN_PREFIX not in again.output
    store = open_store(Settings(home=tmp_path / "home"), create=False)
    try:
        assert users.authenticate(store, token).name == "admin"
    finally:
        store.close()
    listed = cli("token", "list", "--json")
    assert token not in listed.output and json.loads(listed.output)[0]["state"] == "active"


def test_users_projects_and_tokens_from_the_command_line(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("user", "add", "alice").exit_code == 0
    assert cli("project", "create", "fraud").exit_code == 0
    r = cli("project", "add-member", "fraud", "alice", "--role", "editor")
    assert r.exit_code == 0 and "alice is editor of project fraud" in r.output
    assert json.loads(cli("user", "list", "--json").output)[0]["projects"] == {"fraud": "editor"}
    made = cli("token", "create", "alice", "--name", "ci", "--expires-in", "30d")
    assert made.exit_code == 0, made.output
    token = _token_line(made.output)
    listed = cli("token", "list", "--user", "alice")
    assert token not in listed.output and token[:12] in listed.output and "active" in listed.output
    assert cli("token", "revoke", "1").exit_code == 0
    assert json.loads(cli("token", "list", "--json").output)[0]["state"] == "revoked"
    r = cli("project", "remove-member", "fraud", "alice")
    assert r.exit_code == 0 and json.loads(cli("project", "list", "--json").output)[0]["members"] == {}
    assert cli("user", "remove", "alice").exit_code == 0
    assert json.loads(cli("user", "list", "--json").output) == []


def test_bad_requests_exit_2_and_change_nothing(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("user", "add", "alice").exit_code == 0
    for args, said in [
        (("user", "add", "alice"), "already exists"),
        (("user", "add", "a b"), "invalid user name"),
        (("token", "create", "nobody"), "no user 'nobody'"),
        (("token", "create", "alice", "--expires-in", "soon"), "invalid duration 'soon'"),
        (("token", "revoke", "7"), "no token 7"),
        (("project", "add-member", "nope", "alice"), "no project 'nope'"),
        (("project", "create", "../x"), "invalid project"),
    ]:
        r = cli(*args)
        assert r.exit_code == 2 and said in " ".join(r.output.split()), (args, r.output)
    assert json.loads(cli("token", "list", "--json").output) == []
    assert [u["name"] for u in json.loads(cli("user", "list", "--json").output)] == ["alice"]
