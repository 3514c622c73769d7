"""Users and API tokens: who may use a shared shoal over its API, and how a request proves it.

A user is an instance admin (may do anything) or acts in the projects they are a member of
(`services.projects`), with the role they hold there. A token is a long random string shown
once, when created; only its SHA-256 is stored (a token is not a password: it has 256 bits of
randomness, so a slow hash would add nothing), with its first characters to tell tokens apart.
Tokens may expire and may be revoked; `authenticate` turns one into the `Actor` every service
checks. The command line on its own database acts as `LOCAL`, the machine's owner, an instance
admin: it needs no token.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from shoal.engine.access import LOCAL, Actor, Role, require_instance_admin
from shoal.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from shoal.store import Store, utcnow
from shoal.store.models import api_tokens, project_members, projects, users
from shoal.units import parse_duration

__all__ = [
    "FIRST_ADMIN", "TOKEN_PREFIX", "NewToken", "TokenInfo", "UserInfo", "add_user", "authenticate", "create_token",
    "first_admin", "forget_actors", "list_tokens", "list_users", "remembered_actor", "remove_user", "revoke_token",
    "user_id",
]

FIRST_ADMIN = "admin"  # the instance admin `shoal init` creates in a database without users
TOKEN_PREFIX = "shoal_"  # tells a shoal token apart in a config file or a leaked log
_SHOWN = 12  # characters of a token kept to tell it apart: the prefix and 6 random ones
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.@-]{0,63}$")


@dataclass(frozen=True)
class UserInfo:
    name: str
    is_admin: bool
    created_at: datetime
    projects: dict[str, str] = field(default_factory=dict)  # project -> role

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "created_at": self.created_at.isoformat()}


@dataclass(frozen=True)
class TokenInfo:
    """A token without its secret: what `token list` shows. `state`: active, expired or revoked
    (when it was read)."""

    id: int
    user: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    state: str

    def to_json(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(self).items()}


def _state(expires_at: datetime | None, revoked_at: datetime | None, now: datetime) -> str:
    if revoked_at is not None:
        return "revoked"
    return "expired" if expires_at is not None and expires_at <= now else "active"


@dataclass(frozen=True)
class NewToken:
    """A token just created: `token` is the secret, shown this once and never stored."""

    info: TokenInfo
    token: str

    def to_json(self) -> dict[str, Any]:
        return {**self.info.to_json(), "token": self.token}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise InvalidInput(f"invalid user name {name!r}: use letters, digits and _ . @ -, starting with a letter "
                           "or _, at most 64 characters", field="name")
    return name


def user_id(conn: Connection, name: str) -> int:
    """The id of user `name`, or NotFound."""
    # A name no user can have is not looked up: it may hold what PostgreSQL refuses (a NUL).
    uid = conn.execute(select(users.c.id).where(users.c.name == name)).scalar() if _NAME.match(name) else None
    if uid is None:
        raise NotFound(f"no user {name!r}; `shoal user list` shows the users", user=name)
    return int(uid)


def _roles(conn: Connection, uid: int) -> dict[str, str]:
    rows = conn.execute(
        select(projects.c.name, project_members.c.role)
        .join(projects, projects.c.id == project_members.c.project_id)
        .where(project_members.c.user_id == uid)
        .order_by(projects.c.name)
    ).all()
    return {r.name: r.role for r in rows}


def add_user(store: Store, name: str, *, admin: bool = False, actor: Actor = LOCAL) -> UserInfo:
    """A new user (an instance admin with `admin`); they act only once given a token and, unless
    admin, a role in some project."""
    require_instance_admin(actor, "add users")
    _check_name(name)
    now = utcnow()
    with store.engine.begin() as conn:
        if conn.execute(select(users.c.id).where(users.c.name == name)).scalar() is not None:
            raise Conflict(f"user {name!r} already exists", user=name)
        conn.execute(insert(users).values(name=name, is_admin=admin, created_at=now))
    return UserInfo(name, admin, now)


def first_admin(store: Store) -> NewToken | None:
    """In a database without users: create the instance admin `admin` and a token for them (to
    print once). None when there are users already: a second `shoal init` creates nobody."""
    with store.engine.connect() as conn:
        if conn.execute(select(users.c.id).limit(1)).first() is not None:
            return None
    try:
        add_user(store, FIRST_ADMIN, admin=True)
    except Conflict:  # another `init` got there first
        return None
    return create_token(store, FIRST_ADMIN, name="created by shoal init")


def list_users(store: Store, *, actor: Actor = LOCAL) -> list[UserInfo]:
    """Every user with the projects they are a member of, by name."""
    require_instance_admin(actor, "list users")
    with store.engine.connect() as conn:
        rows = conn.execute(select(users).order_by(users.c.name)).all()
        memberships = conn.execute(  # every user's in one query, not one per user
            select(project_members.c.user_id, projects.c.name, project_members.c.role)
            .join(projects, projects.c.id == project_members.c.project_id)
            .order_by(projects.c.name)
        ).all()
    roles: dict[int, dict[str, str]] = {}
    for m in memberships:
        roles.setdefault(m.user_id, {})[m.name] = m.role
    return [UserInfo(r.name, r.is_admin, r.created_at, roles.get(r.id, {})) for r in rows]


def remove_user(store: Store, name: str, *, actor: Actor = LOCAL) -> None:
    """Remove a user with their tokens and memberships (the last admin stays)."""
    require_instance_admin(actor, "remove users")
    with store.engine.begin() as conn:
        uid = user_id(conn, name)
        admins = conn.execute(select(func.count()).select_from(users).where(users.c.is_admin)).scalar_one()
        is_admin = conn.execute(select(users.c.is_admin).where(users.c.id == uid)).scalar_one()
        if is_admin and admins == 1:
            raise Conflict(f"{name!r} is the last admin: add another admin first (`shoal user add NAME --admin`)",
                           user=name)
        conn.execute(delete(api_tokens).where(api_tokens.c.user_id == uid))
        conn.execute(delete(project_members).where(project_members.c.user_id == uid))
        conn.execute(delete(users).where(users.c.id == uid))
    forget_actors(store)


def _may_manage_tokens_of(actor: Actor, user: str) -> None:
    if actor.roles is not None and actor.name != user:
        raise Forbidden(f"{actor.name} may not manage the tokens of {user!r}: only their own; ask an instance admin",
                        actor=actor.name, user=user)


def create_token(
    store: Store, user: str, *, name: str = "", expires_in: float | str | None = None, actor: Actor = LOCAL
) -> NewToken:
    """A new token for `user`, valid for `expires_in` (seconds, or a duration such as "30d";
    None: until revoked)."""
    _may_manage_tokens_of(actor, user)
    if expires_in is not None:
        try:
            expires_in = parse_duration(expires_in)
        except ValueError as exc:
            raise InvalidInput(f"expires_in: {exc}", field="expires_in") from None
    if expires_in is not None and not 0 < expires_in <= 3650 * 86400:
        raise InvalidInput("a token expires after more than 0 seconds and at most 3650 days", field="expires_in")
    if len(name) > 128 or "\x00" in name:
        raise InvalidInput("a token's name is at most 128 characters, without NUL", field="name")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    expires_at = now + timedelta(seconds=expires_in) if expires_in is not None else None
    with store.engine.begin() as conn:
        uid = user_id(conn, user)
        tid = conn.execute(insert(api_tokens).values(
            user_id=uid, name=name, prefix=token[:_SHOWN], token_hash=_hash(token), created_at=now,
            expires_at=expires_at,
        )).inserted_primary_key[0]
    return NewToken(TokenInfo(int(tid), user, name, token[:_SHOWN], now, expires_at, None, None, "active"), token)


def _token_rows(conn: Connection, where: Any = None) -> list[TokenInfo]:
    query = select(api_tokens, users.c.name.label("user")).join(users, users.c.id == api_tokens.c.user_id)
    if where is not None:
        query = query.where(where)
    now = utcnow()
    return [TokenInfo(r.id, r.user, r.name, r.prefix, r.created_at, r.expires_at, r.revoked_at, r.last_used_at,
                      _state(r.expires_at, r.revoked_at, now))
            for r in conn.execute(query.order_by(api_tokens.c.id)).all()]


def list_tokens(store: Store, *, user: str | None = None, actor: Actor = LOCAL) -> list[TokenInfo]:
    """Tokens (never their secrets): of `user`, or of everyone for an admin, else one's own."""
    if user is None and actor.roles is not None:
        user = actor.name
    if user is not None:
        _may_manage_tokens_of(actor, user)
    with store.engine.connect() as conn:
        return _token_rows(conn, None if user is None else api_tokens.c.user_id == user_id(conn, user))


def revoke_token(store: Store, token_id: int, *, actor: Actor = LOCAL) -> TokenInfo:
    """Revoke a token: this process refuses it from the next request on, any other API process
    within SHOAL_AUTH_CACHE_SECONDS. Revoking twice changes nothing."""
    with store.engine.begin() as conn:
        found = _token_rows(conn, api_tokens.c.id == token_id)
        if not found:
            raise NotFound(f"no token {token_id}; `shoal token list` shows the tokens", token=token_id)
        _may_manage_tokens_of(actor, found[0].user)
        if found[0].revoked_at is None:
            conn.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(revoked_at=utcnow()))
        revoked = _token_rows(conn, api_tokens.c.id == token_id)[0]
    forget_actors(store)
    return revoked


TOUCH_EVERY = timedelta(minutes=1)  # how stale a token's last_used_at may get


def authenticate(store: Store, token: str | None) -> Actor:
    """The Actor a request's bearer token stands for: an instance admin acts everywhere, anyone
    else with their role in each of their projects. Unauthorized (saying why) otherwise.

    A valid token's Actor is remembered for SHOAL_AUTH_CACHE_SECONDS (`remembered_actor`): one
    token read per token every few seconds, not one per request."""
    if not token:
        raise Unauthorized("no token: send `Authorization: Bearer <token>` (`shoal token create` makes one)")
    token_hash = _hash(token)
    if (known := _remembered(store, token_hash)) is not None:
        return known
    now = utcnow()
    with store.reading() as conn:  # a read: every request may come through here
        row = conn.execute(
            select(api_tokens.c.id, api_tokens.c.expires_at, api_tokens.c.revoked_at, api_tokens.c.last_used_at,
                   users.c.id.label("uid"), users.c.name, users.c.is_admin)
            .join(users, users.c.id == api_tokens.c.user_id)
            .where(api_tokens.c.token_hash == token_hash)
        ).first()
        if row is None:
            raise Unauthorized("unknown token: it was never issued here, or its user was removed")
        if row.revoked_at is not None:
            raise Unauthorized("this token was revoked; create a new one with `shoal token create`")
        if row.expires_at is not None and row.expires_at <= now:
            raise Unauthorized("this token has expired; create a new one with `shoal token create`")
        actor = Actor(row.name) if row.is_admin else Actor(
            row.name, {p: Role[r.upper()] for p, r in _roles(conn, row.uid).items()})
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
        # `last_used_at` to the minute: a write (and a commit waiting for the disk) per request
        # would cost more than the request itself.
        with store.engine.begin() as conn:
            conn.execute(update(api_tokens).where(api_tokens.c.id == row.id).values(last_used_at=now))
    if (ttl := store.settings.auth_cache_seconds) > 0:
        if len(store.actors) >= _REMEMBERED_MAX:  # tokens by the thousand: start over rather than grow
            store.actors.clear()
        store.actors[token_hash] = (actor, row.expires_at, time.monotonic() + ttl)
    return actor


_REMEMBERED_MAX = 10_000


def remembered_actor(store: Store, token: str | None) -> Actor | None:
    """The Actor `authenticate` found for `token` less than SHOAL_AUTH_CACHE_SECONDS ago, unless
    the token has expired since; None: ask `authenticate`. Reads no database (the API calls it
    on its event loop)."""
    return _remembered(store, _hash(token)) if token else None


def _remembered(store: Store, token_hash: str) -> Actor | None:
    if (known := store.actors.get(token_hash)) is None:
        return None
    actor, expires_at, until = known
    if time.monotonic() >= until or (expires_at is not None and expires_at <= utcnow()):
        return None
    return actor


def forget_actors(store: Store) -> None:
    """Drop what `authenticate` remembers: a token was revoked, or someone's roles changed."""
    store.actors.clear()
