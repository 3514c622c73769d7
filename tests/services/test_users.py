"""Users, API tokens, projects and members: who may act where, on SQLite and PostgreSQL.

A token is shown once and only its hash is stored; an expired, revoked or unknown token, or one
whose user was removed, is refused saying why; a user acts only in the projects they hold a
role in, with that role."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from shoal.engine.access import LOCAL, Actor, Role
from shoal.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from shoal.services import projects, runs, users, workflows
from shoal.store import Store, utcnow
from shoal.store.models import api_tokens
from tests.conftest import add_team

WF = "name: w\nproject: {project}\ntasks: [{{name: a, type: shell, command: 'true'}}]\n"


@pytest.fixture
def team(store: Store) -> Store:
    """root (instance admin), alice (editor of fraud), bob (viewer of fraud), carol (no project)."""
    add_team(store)
    return store


def actor_of(store: Store, user: str) -> Actor:
    return users.authenticate(store, users.create_token(store, user).token)


def test_a_token_is_shown_once_and_only_its_hash_is_kept(team: Store) -> None:
    new = users.create_token(team, "alice", name="ci")
    assert new.token.startswith(users.TOKEN_PREFIX) and len(new.token) > 40
    with team.engine.connect() as conn:
        row = conn.execute(select(api_tokens)).one()
    assert new.token not in [str(v) for v in row] and row.prefix == new.token[:12]
    listed = users.list_tokens(team, user="alice")
    assert [(t.name, t.state) for t in listed] == [("ci", "active")]
    assert "token" not in listed[0].to_json() and new.to_json()["token"] == new.token


def test_authenticate_gives_each_user_their_roles(team: Store) -> None:
    assert actor_of(team, "root").roles is None  # an instance admin: every role everywhere
    alice = actor_of(team, "alice")
    assert (alice.name, dict(alice.roles or {})) == ("alice", {"fraud": Role.EDITOR})
    assert dict(actor_of(team, "bob").roles or {}) == {"fraud": Role.VIEWER}
    assert dict(actor_of(team, "carol").roles or {}) == {}


@pytest.mark.parametrize("why", ["revoked", "expired", "unknown", "user removed", "missing"])
def test_a_token_that_is_not_valid_is_refused_saying_why(team: Store, why: str) -> None:
    new = users.create_token(team, "alice", expires_in="1h")
    token: str | None = new.token
    if why == "revoked":
        users.revoke_token(team, new.info.id)
    elif why == "expired":
        with team.engine.begin() as conn:
            conn.execute(update(api_tokens).values(expires_at=utcnow() - timedelta(seconds=1)))
    elif why == "unknown":
        token = token + "x"  # type: ignore[operator]
    elif why == "user removed":
        users.remove_user(team, "alice")
    else:
        token = None
    words = {"revoked": "revoked", "expired": "expired", "unknown": "unknown token", "user removed": "unknown token",
             "missing": "no token"}
    with pytest.raises(Unauthorized, match=words[why]):
        users.authenticate(team, token)


def test_revoking_twice_changes_nothing_and_last_use_is_recorded(team: Store) -> None:
    new = users.create_token(team, "bob")
    users.authenticate(team, new.token)
    first = users.revoke_token(team, new.info.id)
    again = users.revoke_token(team, new.info.id)
    assert first.revoked_at == again.revoked_at and again.state == "revoked" and again.last_used_at is not None


def test_only_an_instance_admin_manages_users_and_others_tokens(team: Store) -> None:
    alice = actor_of(team, "alice")
    with pytest.raises(Forbidden, match="instance admin"):
        users.add_user(team, "mallory", actor=alice)
    with pytest.raises(Forbidden, match="instance admin"):
        users.list_users(team, actor=alice)
    with pytest.raises(Forbidden, match="tokens of 'bob'"):
        users.create_token(team, "bob", actor=alice)
    mine = users.create_token(team, "alice", name="mine", actor=alice)
    assert [t.name for t in users.list_tokens(team, actor=alice)] == ["", "mine"]  # their own only
    bobs = users.create_token(team, "bob")
    with pytest.raises(Forbidden):
        users.revoke_token(team, bobs.info.id, actor=alice)
    assert users.revoke_token(team, mine.info.id, actor=alice).state == "revoked"
    root = actor_of(team, "root")
    assert {t.user for t in users.list_tokens(team, actor=root)} == {"alice", "bob", "root"}


def test_bad_input_is_refused_and_changes_nothing(team: Store) -> None:
    before = [u.name for u in users.list_users(team)]
    with pytest.raises(InvalidInput, match="invalid user name"):
        users.add_user(team, "../x y")
    with pytest.raises(Conflict, match="already exists"):
        users.add_user(team, "alice")
    with pytest.raises(InvalidInput, match="invalid duration"):
        users.create_token(team, "alice", expires_in="soon")
    with pytest.raises(InvalidInput, match="at most 3650 days"):
        users.create_token(team, "alice", expires_in="4000d")
    with pytest.raises(NotFound, match="no user 'nobody'"):
        users.create_token(team, "nobody")
    with pytest.raises(InvalidInput, match="invalid role 'boss'"):
        projects.add_member(team, "fraud", "carol", "boss")
    with pytest.raises(NotFound, match="no project 'nope'"):
        projects.add_member(team, "nope", "carol", "viewer")
    with pytest.raises(Conflict, match="last admin"):
        users.remove_user(team, "root")
    assert [u.name for u in users.list_users(team)] == before and users.list_tokens(team) == []


def test_a_project_admin_manages_members_and_a_creator_is_admin(team: Store) -> None:
    carol = actor_of(team, "carol")
    created = projects.create_project(team, "recsys", actor=carol)
    assert created.members == {"carol": "admin"}
    carol = actor_of(team, "carol")  # an Actor holds the roles of when it was authenticated (one request)
    projects.add_member(team, "recsys", "bob", "editor", actor=carol)
    with pytest.raises(Forbidden, match="admin role in project 'fraud'"):
        projects.add_member(team, "fraud", "carol", "admin", actor=actor_of(team, "alice"))  # an editor
    assert [p.name for p in projects.list_projects(team, actor=carol)] == ["recsys"]
    assert {p.name for p in projects.list_projects(team, actor=actor_of(team, "bob"))} == {"fraud", "recsys"}
    assert projects.remove_member(team, "recsys", "bob", actor=carol).members == {"carol": "admin"}
    with pytest.raises(NotFound, match="not a member"):
        projects.remove_member(team, "recsys", "bob", actor=carol)


def test_a_user_acts_only_in_their_projects_with_their_role(team: Store, tmp_path: Path) -> None:
    for project in ("fraud", "default"):
        (tmp_path / f"{project}.yaml").write_text(WF.format(project=project))
        workflows.apply_path(team, tmp_path / f"{project}.yaml")
    run_id = runs.trigger(team, "w", project="default").id
    alice, bob, carol = (actor_of(team, u) for u in ("alice", "bob", "carol"))
    assert [w.name for w in workflows.list_workflows(team, project="fraud", actor=alice)] == ["w"]
    runs.trigger(team, "w", project="fraud", actor=alice)  # an editor starts runs
    with pytest.raises(Forbidden):
        runs.trigger(team, "w", project="fraud", actor=bob)  # a viewer does not
    assert len(runs.list_runs(team, project="fraud", actor=bob)) == 1
    for who in (alice, bob, carol):  # nobody sees the default project's run, even by its id
        with pytest.raises(Forbidden):
            runs.show(team, run_id, project="default", actor=who)
        with pytest.raises(Forbidden):
            runs.list_runs(team, project="default", actor=who)
    with pytest.raises(Forbidden):
        workflows.list_workflows(team, project="fraud", actor=carol)
    assert runs.show(team, run_id, project="default", actor=LOCAL).id == run_id


def test_init_creates_one_admin_with_a_token_once(store: Store) -> None:
    first = users.first_admin(store)
    assert first is not None and first.info.user == users.FIRST_ADMIN
    assert users.authenticate(store, first.token).roles is None
    assert users.first_admin(store) is None
    assert [u.name for u in users.list_users(store)] == ["admin"]
