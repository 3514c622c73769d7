"""Projects, members, users and tokens over the API: who may manage what, tokens shown once,
revoked or expired tokens refused at once."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from sqlalchemy import update

from shoal.services import users
from shoal.store import Store, utcnow
from shoal.store.models import api_tokens
from tests.api.conftest import Call, error_of


def test_projects_and_members(api: dict[str, Call]) -> None:
    made = api["carol"]("POST", "/api/v1/projects", json={"name": "ads"})
    assert made.status_code == 201 and made.json()["members"] == {"carol": "admin"}
    assert error_of(api["alice"]("POST", "/api/v1/projects", json={"name": "ads"}), 409)["code"] == "conflict"
    error_of(api["alice"]("POST", "/api/v1/projects", json={"name": "bad name!"}), 422)
    assert [p["name"] for p in api["carol"]("GET", "/api/v1/projects").json()] == ["ads"]
    assert {p["name"] for p in api["root"]("GET", "/api/v1/projects").json()} == {"ads", "fraud"}
    error_of(api["alice"]("PUT", "/api/v1/projects/ads/members", json={"user": "alice", "role": "admin"}), 403)
    added = api["carol"]("PUT", "/api/v1/projects/ads/members", json={"user": "bob", "role": "viewer"})
    assert added.json()["members"] == {"carol": "admin", "bob": "viewer"}
    error_of(api["carol"]("PUT", "/api/v1/projects/ads/members", json={"user": "bob", "role": "owner"}), 422)
    error_of(api["carol"]("PUT", "/api/v1/projects/ads/members", json={"user": "nobody", "role": "viewer"}), 404)
    assert api["bob"]("GET", "/api/v1/whoami").json()["roles"] == {"fraud": "viewer", "ads": "viewer"}
    assert api["carol"]("DELETE", "/api/v1/projects/ads/members/bob").json()["members"] == {"carol": "admin"}
    assert api["bob"]("GET", "/api/v1/whoami").json()["roles"] == {"fraud": "viewer"}


def test_users_are_managed_by_instance_admins(api: dict[str, Call]) -> None:
    error_of(api["alice"]("GET", "/api/v1/users"), 403)
    error_of(api["alice"]("POST", "/api/v1/users", json={"name": "mallory", "admin": True}), 403)
    assert api["root"]("POST", "/api/v1/users", json={"name": "dave"}).status_code == 201
    assert "dave" in [u["name"] for u in api["root"]("GET", "/api/v1/users").json()]
    error_of(api["root"]("POST", "/api/v1/users", json={"name": "dave"}), 409)
    assert api["root"]("DELETE", "/api/v1/users/dave").status_code == 204
    error_of(api["root"]("DELETE", "/api/v1/users/dave"), 404)


def test_a_token_is_shown_once_and_stops_working_when_revoked_or_expired(api: dict[str, Call], store: Store) -> None:
    made = api["alice"]("POST", "/api/v1/tokens", json={"user": "alice", "name": "ci", "expires_in": "1d"})
    assert made.status_code == 201
    token, token_id = made.json()["token"], made.json()["id"]
    listed = api["alice"]("GET", "/api/v1/tokens").json()
    assert all("token" not in t for t in listed) and token not in str(listed)
    assert {t["user"] for t in listed} == {"alice"}  # her own only
    error_of(api["alice"]("POST", "/api/v1/tokens", json={"user": "bob"}), 403)  # not hers to make
    error_of(api["alice"]("POST", "/api/v1/tokens", json={"user": "alice", "expires_in": "soon"}), 422)
    ci = api["anon"]
    assert ci("GET", "/api/v1/whoami", headers={"Authorization": f"Bearer {token}"}).json()["user"] == "alice"
    # A token that expires in a second: remembered by the API after its first use, and refused
    # the moment it expires all the same.
    short = api["alice"]("POST", "/api/v1/tokens", json={"user": "alice", "expires_in": "2s"}).json()
    assert ci("GET", "/api/v1/whoami", headers={"Authorization": f"Bearer {short['token']}"}).status_code == 200
    time.sleep(max(0.0, (datetime.fromisoformat(short["expires_at"]) - utcnow()).total_seconds()) + 0.05)
    assert "expired" in error_of(ci("GET", "/api/v1/whoami", headers={"Authorization": f"Bearer {short['token']}"}),
                                 401)["message"]
    with store.engine.begin() as conn:  # the first token, a day later, as read from the database
        conn.execute(update(api_tokens).where(api_tokens.c.id == token_id)
                     .values(expires_at=utcnow() - timedelta(seconds=1)))
    users.forget_actors(store)
    assert "expired" in error_of(ci("GET", "/api/v1/whoami", headers={"Authorization": f"Bearer {token}"}),
                                 401)["message"]
    second = api["alice"]("POST", "/api/v1/tokens", json={"user": "alice"}).json()
    error_of(api["bob"]("DELETE", f"/api/v1/tokens/{second['id']}"), 403)
    assert api["alice"]("DELETE", f"/api/v1/tokens/{second['id']}").json()["state"] == "revoked"
    assert "revoked" in error_of(ci("GET", "/api/v1/whoami", headers={"Authorization": f"Bearer {second['token']}"}),
                                 401)["message"]
    assert api["alice"]("DELETE", f"/api/v1/tokens/{second['id']}").json()["state"] == "revoked"  # idempotent


def test_a_token_revoked_elsewhere_stops_working_within_the_remembered_seconds(
        api: dict[str, Call], store: Store) -> None:
    """Another API replica (or `shoal token revoke` on the database) revokes a token: this
    process, which checked it a moment ago, refuses it once SHOAL_AUTH_CACHE_SECONDS have passed."""
    store.settings.auth_cache_seconds = 0.3
    made = api["alice"]("POST", "/api/v1/tokens", json={"user": "alice"}).json()
    headers = {"Authorization": f"Bearer {made['token']}"}
    assert api["anon"]("GET", "/api/v1/whoami", headers=headers).status_code == 200
    with store.engine.begin() as conn:  # not through this process's services
        conn.execute(update(api_tokens).where(api_tokens.c.id == made["id"]).values(revoked_at=utcnow()))
    deadline = time.monotonic() + 0.3 + 5.0
    while api["anon"]("GET", "/api/v1/whoami", headers=headers).status_code == 200:
        assert time.monotonic() < deadline, "a token revoked in the database was still accepted"
        time.sleep(0.05)
    assert "revoked" in error_of(api["anon"]("GET", "/api/v1/whoami", headers=headers), 401)["message"]


def test_a_new_role_counts_at_once_in_the_process_that_gave_it(api: dict[str, Call]) -> None:
    assert api["carol"]("GET", "/api/v1/whoami").json()["roles"] == {}
    api["root"]("POST", "/api/v1/projects", json={"name": "ads"})
    api["root"]("PUT", "/api/v1/projects/ads/members", json={"user": "carol", "role": "editor"})
    assert api["carol"]("GET", "/api/v1/whoami").json()["roles"] == {"ads": "editor"}
    api["root"]("DELETE", "/api/v1/projects/ads/members/carol")
    assert api["carol"]("GET", "/api/v1/whoami").json()["roles"] == {}
