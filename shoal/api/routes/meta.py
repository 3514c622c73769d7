"""Who am I, is it up."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from shoal import __version__
from shoal.api.deps import API, Caller, json_response

router = APIRouter(tags=["meta"])


@router.get("/health")
def health() -> dict[str, str]:
    """Up and answering (no token needed)."""
    return {"status": "ok", "version": __version__}


@router.get(f"{API}/whoami")
def whoami(caller: Caller) -> Response:
    """Who the token belongs to, and their role in each project (None: an instance admin)."""
    roles = None if caller.roles is None else {p: r.name.lower() for p, r in caller.roles.items()}
    return json_response({"user": caller.name, "roles": roles})
