"""Which face of the service layer a command calls: this machine's (`shoal.services`, on the
local database, as its owner) or a server's (`shoal.services.remote`, through the REST API),
when SHOAL_API_URL is set.

The commands call `services.<noun>.<function>(store(), ...)` either way: `services` here hands
out the remote noun in remote mode and the local one otherwise, and `store()` gives the remote
face's connection instead of opening a database. Deciding reads one environment variable, so
`shoal --help` loads nothing more; the remote face (httpx, pydantic) loads on first use.
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, Any

from shoal.errors import InvalidInput

if TYPE_CHECKING:
    from shoal.services.remote import Remote

__all__ = ["is_remote", "refuse_remote", "remote", "services"]

API_URL = "SHOAL_API_URL"
_REMOTE_NOUNS = frozenset({"workflows", "runs", "logs", "schedules", "users", "projects", "models", "features",
                           "alerts", "home"})  # shoal.services.remote.NOUNS, written out: --help imports neither


def is_remote() -> bool:
    """Do the commands of this process go to a server (SHOAL_API_URL set and not empty)?"""
    return bool(os.environ.get(API_URL, "").strip())


def remote() -> Remote:
    """The remote face for the current SHOAL_API_URL and SHOAL_TOKEN (one per process and pair)."""
    return _connected(os.environ.get(API_URL, ""), os.environ.get("SHOAL_TOKEN", ""))


@functools.cache
def _connected(_url: str, _token: str) -> Remote:  # the key: tests change the variables in one process
    from shoal.services.remote import connect

    return connect()


def refuse_remote(command: str, why: str = "it works on the server's own files and processes") -> None:
    """Refuse `command` in remote mode (InvalidInput: exit 2), saying where to run it."""
    if is_remote():
        raise InvalidInput(f"`{command}` does not run against a server ({API_URL} is set): {why}; run it on the "
                           f"server, or unset {API_URL} to use this machine's own database")


class _Services:
    """`shoal.services` as the CLI sees it: a noun with a remote face comes from the server when
    SHOAL_API_URL is set; everything else (states, names) is the local module's."""

    def __getattr__(self, name: str) -> Any:
        if name in _REMOTE_NOUNS and is_remote():
            return getattr(remote(), name)
        import shoal.services

        return getattr(shoal.services, name)


services: Any = _Services()
