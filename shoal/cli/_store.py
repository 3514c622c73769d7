"""The store the commands work on. Its own module because opening one loads SQLAlchemy and the
migrations: a command imports it when it runs, so that `shoal --help` does not."""

from __future__ import annotations

from typing import Any

from shoal.cli._backend import is_remote, remote


def store(create: bool = False) -> Any:
    """The store of this command: the local database (`shoal.services.Store`), or with
    SHOAL_API_URL set the remote face's connection to the server, which opens no database here.

    Only commands that make something a user starts with (`init`, `workflow apply`, `scheduler`,
    `model register`, `features import|deploy`) pass `create`: any other finds no database
    where there is none (NoDatabase says where it looked) rather than leaving an empty one
    behind in whatever directory it was typed in."""
    if is_remote():
        return remote().api
    from shoal.services.home import open_store

    s = open_store(create=create)
    if s.created:
        from shoal.cli._common import err_console

        err_console.print(f"created a new shoal database at {s.settings.where}", highlight=False, soft_wrap=True)
    return s
