"""What every noun of the remote face shares: the server it talks to."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shoal.services.remote._client import Api


class Face:
    """One noun of the service layer over the API. Its functions take the same arguments as the
    local ones, `store` first: the CLI passes what `store()` gave it, which in remote mode is
    this same `Api`; the face uses its own."""

    def __init__(self, api: Api) -> None:
        self.api = api
