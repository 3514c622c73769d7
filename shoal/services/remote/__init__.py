"""The remote face of the service layer: the same nouns and functions the CLI calls on
`shoal.services` (workflows, runs, logs, schedules, users, projects, models, features, alerts), doing
their work through a shoal server's REST API (SHOAL_API_URL, SHOAL_TOKEN) and returning the
same dataclasses, so that every command prints the same thing either way.

    Remote          the nouns over one server (`connect()` builds it from the settings)
    _client.Api     httpx, the token, errors, decoding answers into dataclasses
    errors.py       an API error answer -> the ShoalError the services raise (same exit codes)

Each function takes the `store` first like its local twin: what the CLI's `store()` gives in
remote mode is this face's `Api`, and no local database is opened or created. Functions that
need the server's files or processes (init, the scheduler, imports of local files) have no
remote twin: the CLI refuses them before calling anything.

Cheap to import: httpx and pydantic load in `connect()`, when a command runs remotely.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shoal.services.remote._client import Api
    from shoal.services.remote.access import Projects, Schedules, Users
    from shoal.services.remote.alerts import Alerts
    from shoal.services.remote.features import Features
    from shoal.services.remote.logs import Logs
    from shoal.services.remote.models import Models
    from shoal.services.remote.runs import Runs
    from shoal.services.remote.workflows import Workflows

__all__ = ["NOUNS", "Remote", "connect"]

# The nouns of `shoal.services` that have a remote face (`home` says where commands go).
NOUNS = frozenset({"workflows", "runs", "logs", "schedules", "users", "projects", "models", "features", "alerts",
                   "home"})


class Home:
    """Where the commands of this process go (the CLI says it in "not found" errors)."""

    def __init__(self, api: Api) -> None:
        self.api = api

    def where(self) -> str:
        return self.api.where


class Remote:
    """The service layer's nouns over one server, as one user."""

    def __init__(self, api: Api) -> None:
        from shoal.services.remote.access import Projects, Schedules, Users
        from shoal.services.remote.alerts import Alerts
        from shoal.services.remote.features import Features
        from shoal.services.remote.logs import Logs
        from shoal.services.remote.models import Models
        from shoal.services.remote.runs import Runs
        from shoal.services.remote.workflows import Workflows

        self.api = api
        self.workflows: Workflows = Workflows(api)
        self.runs: Runs = Runs(api)
        self.logs: Logs = Logs(api)
        self.schedules: Schedules = Schedules(api)
        self.users: Users = Users(api)
        self.projects: Projects = Projects(api)
        self.models: Models = Models(api)
        self.features: Features = Features(api)
        self.alerts: Alerts = Alerts(api)
        self.home = Home(api)


def connect() -> Remote:
    """The remote face over SHOAL_API_URL with SHOAL_TOKEN (InvalidInput if the settings are
    wrong; MissingExtra naming shoal[http] if httpx is not installed)."""
    from shoal._extras import imports_of
    from shoal.config import get_settings

    settings = get_settings()
    if settings.api_url is None:
        raise RuntimeError("connect() without SHOAL_API_URL")  # the CLI asks only in remote mode
    with imports_of("the CLI against a server (SHOAL_API_URL)"):
        from shoal.services.remote._client import Api

        return Remote(Api(settings.api_url, settings.token))
