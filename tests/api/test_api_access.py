"""Projects, members, users and tokens over the API: who may manage what, tokens shown once,
revoked or expired tokens refused at once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

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
    with store.engine.begin() as conn:  # a day later
        conn.execute(update(api_tokens).where(api_tokens.c.id == token_id)
                     .values(expires_at=utcnow() - timedelta(seconds=1)))
    assert "expired" in error_of(ci("GET", "/api/v1/whoami", headers={"Authorization": f"Bearer {token}"}),
                                 401)["message"]
    second = api["alice"]("POST", "/api/v1/tokens", json={"user": "alice"}).json()
    error_of(api["bob"]("DELETE", f"/api/v1/tokens/{second['id']}"), 403)
    assert api["alice"]("DELETE", f"/api/v1/tokens/{second['id']}").json()["state"] == "revoked"
    assert "revoked" in error_of(ci("GET", "/api/v1/whoami", headers={"Authorization": f"Bearer {second['token']}"}),
                                 401)["message"]
    assert api["alice"]("DELETE", f"/api/v1/tokens/{second['id']}").json()["state"] == "revoked"  # idempotent
