"""Settings from SHOAL_* environment variables (pydantic-settings).

The home holds the embedded SQLite database, logs and artifacts. It is `SHOAL_HOME` if set;
else the nearest `.shoal` directory found walking up from the current directory (as git finds
`.git`), so every command run inside a project uses the project's home; else `~/.shoal`, the
user's own. `shoal init` makes `./.shoal` here. `SHOAL_DB_URL` switches the metadata database to
PostgreSQL (or any SQLAlchemy URL).
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shoal.errors import InvalidInput, expected_value
from shoal.units import parse_memory

HOME_NAME = ".shoal"  # a project's home, found walking up like .git
DB_FILE = "shoal.db"  # the embedded database inside a home


def find_home(start: Path | None = None) -> tuple[Path, str]:
    """The home when SHOAL_HOME is unset, and how it was found: the nearest `.shoal` directory
    from `start` (the current directory) upward, else the user's `~/.shoal`."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / HOME_NAME
        if candidate.is_dir():
            how = "found in the current directory" if folder == here else f"found walking up from {here}"
            return candidate, how
    return Path.home() / HOME_NAME, f"the user default: no {HOME_NAME} in {here} or above, SHOAL_HOME unset"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHOAL_", extra="ignore")

    home: Path | None = Field(default=None, description="where embedded state lives (default: see find_home)")
    db_url: str | None = Field(default=None, description="SQLAlchemy URL of the metadata database")
    artifacts: str | None = Field(default=None, description="fsspec URL for artifacts")
    # Local executor capacity; default: what the machine has.
    cpu: float | None = Field(default=None, gt=0, le=65536, allow_inf_nan=False,
                              description="cpu slots of the local executor")
    memory: str | None = Field(default=None, description="memory of the local executor, e.g. 8Gi")
    gpu: int | None = Field(default=None, ge=0, le=4096, description="gpus of the local executor")
    # Online feature store: "memory" (a snapshot file under SHOAL_HOME) or a redis:// URL.
    online_store: str = Field(default="memory", description="memory or redis://host:port/db")
    # How long a driver's claim on a run lasts without a heartbeat before another takes it over.
    lease_seconds: float = Field(default=15.0, ge=1, le=86400, allow_inf_nan=False)
    # How long a stopping scheduler (SIGTERM, Ctrl+C) lets running attempts finish before it
    # kills them; either way it then lets go of its runs for the next scheduler.
    stop_grace_seconds: float = Field(default=30.0, ge=0, le=86400, allow_inf_nan=False)
    # A schedule with `catchup: true` creates runs for at most this many missed fire times (the
    # latest); older ones are for `shoal backfill`.
    max_catchup: int = Field(default=1000, ge=1, le=10_000)
    # The API's GET /metrics answers without a token (for a Prometheus that cannot send one).
    # It names every project and workflow, so it is closed unless this opens it.
    metrics_public: bool = Field(default=False, description="serve GET /metrics without a token")
    # Browsers on these origins may call the API (CORS); none by default: the web UI is served
    # by the API itself, and a token must not be usable from any page a user happens to open.
    cors_origins: str = Field(default="", description="comma-separated origins allowed to call the API")
    # The CLI against a server: every command goes to this shoal API instead of the local
    # database, with this token (a secret: SecretStr keeps it out of reprs, logs and errors).
    api_url: str | None = Field(default=None, description="a shoal server, e.g. http://shoal.example:8000")
    token: SecretStr | None = Field(default=None, description="an API token of that server")
    # Alerts (docs/alerts.md). Links in alerts point here: the API as people reach it.
    public_url: str = Field(default="http://127.0.0.1:8000", description="the API's address, for links in alerts")
    smtp_host: str | None = Field(default=None, description="SMTP server for email alerts")
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_user: str | None = None
    # A SecretStr: shown as ********** by repr, logs and settings errors; read only to log in.
    smtp_password: SecretStr | None = None
    smtp_from: str = Field(default="shoal@localhost", description="From: of email alerts")
    smtp_starttls: bool = False
    # Delivery: tries per alert, the wait before try n+1 (backoff * 2**(n-1), at most
    # backoff_max), how long one try may take, and how long a waiting command (`run --wait`)
    # keeps delivering its runs' alerts after they end when no scheduler runs.
    alert_attempts: int = Field(default=5, ge=1, le=100)
    alert_backoff_seconds: float = Field(default=2.0, ge=0, le=3600, allow_inf_nan=False)
    alert_backoff_max_seconds: float = Field(default=300.0, ge=0, le=86400, allow_inf_nan=False)
    alert_timeout_seconds: float = Field(default=5.0, gt=0, le=300, allow_inf_nan=False)
    alert_flush_seconds: float = Field(default=5.0, ge=0, le=300, allow_inf_nan=False)
    # How long an API process trusts a token it checked before reading it again. The process
    # that revokes a token, or changes a user's roles, forgets at once; another replica (or a
    # `shoal token revoke` on the database directly) takes up to this long. An expiry is always
    # exact. 0: read the token on every request.
    auth_cache_seconds: float = Field(default=2.0, ge=0, le=300, allow_inf_nan=False)

    @field_validator("memory")
    @classmethod
    def _memory_size(cls, v: str | None) -> str | None:
        if v is not None and parse_memory(v) <= 0:
            raise ValueError("must be more than 0 bytes, e.g. 8Gi")
        return v

    @field_validator("cors_origins")
    @classmethod
    def _cors_origins(cls, v: str) -> str:
        for origin in filter(None, (o.strip() for o in v.split(","))):
            if origin != "*" and not origin.startswith(("http://", "https://")):
                raise ValueError(f"{origin!r} is not an origin: use e.g. https://ui.example.com (comma-separated)")
        return v

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip()]

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, v: str | None) -> str | None:
        if v is not None and v.strip() and not v.strip().lower().startswith(("http://", "https://")):
            raise ValueError("use the server's http:// or https:// URL, e.g. http://127.0.0.1:8000")
        return v.strip() or None if v is not None else None
    @field_validator("public_url")
    @classmethod
    def _public_url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("use an http:// or https:// URL, e.g. https://shoal.example.com")
        return v.rstrip("/")

    @field_validator("online_store")
    @classmethod
    def _online_store(cls, v: str) -> str:
        if v != "memory" and not v.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("use memory or a redis:// URL")
        return v

    @cached_property
    def home_dir(self) -> Path:
        if self.home is not None:
            return self.home.expanduser().resolve()
        return find_home()[0]

    @property
    def home_source(self) -> str:
        """How the home was chosen, for messages that must say where shoal looked."""
        if self.home is not None:
            return "SHOAL_HOME"
        return find_home()[1]

    @property
    def where(self) -> str:
        """`X (home Y, how it was found)`: where the database is, for a command that found nothing."""
        if self.db_url:
            from sqlalchemy.engine import make_url  # only when a message needs it

            shown = make_url(self.db_url).render_as_string(hide_password=True)
            return f"{shown} (SHOAL_DB_URL)"
        return f"{self.home_dir / DB_FILE} (home {self.home_dir}: {self.home_source})"

    @property
    def database_url(self) -> str:
        if self.db_url:
            return self.db_url
        return f"sqlite:///{self.home_dir / DB_FILE}"

    @property
    def logs_dir(self) -> Path:
        return self.home_dir / "logs"

    @property
    def artifacts_url(self) -> str:
        return self.artifacts or str(self.home_dir / "artifacts")

    def run_artifacts_dir(self, project: str, workflow: str, run_id: int) -> Path:
        """Where a run's tasks write their artifacts by default (one folder per task below):
        `task_dir` writes there and the driver claims it for the run (local artifacts only)."""
        return Path(self.artifacts_url) / "runs" / project / workflow / str(run_id)

    def to_env(self) -> dict[str, str]:
        """These settings as SHOAL_* variables for task processes: where SHOAL_HOME and the
        artifacts are. Never the database's or the online store's URL, which may hold a
        password: see `store_env`."""
        env = {"SHOAL_HOME": str(self.home_dir)}
        if self.artifacts:
            env["SHOAL_ARTIFACTS"] = self.artifacts
        return env

    def store_env(self) -> dict[str, str]:
        """The variables that open the metadata database and the online store: handed only to
        shoal's own task types that record in them (registry, feature sets), never to user code."""
        env = {"SHOAL_ONLINE_STORE": self.online_store}
        if self.db_url:
            env["SHOAL_DB_URL"] = self.db_url
        return env


# Settings that may hold credentials: kept out of every task's environment.
SECRET_SETTINGS = frozenset({"SHOAL_DB_URL", "SHOAL_ONLINE_STORE", "SHOAL_SMTP_PASSWORD"})


def get_settings() -> Settings:
    """Read settings afresh: tests and the CLI change the environment between calls.

    Every setting is checked here, before any command changes anything: a wrong one is an
    InvalidInput naming the variable (exit 2), never a traceback or a half-done command.
    """
    try:
        return Settings()
    except ValidationError as exc:
        raise InvalidInput(settings_problem(exc)) from None


def settings_problem(exc: ValidationError) -> str:
    """`SHOAL_CPU='abc': expected a number; ...` for each wrong setting."""
    problems = []
    for error in exc.errors():
        name = "SHOAL_" + "_".join(str(p) for p in error["loc"]).upper()
        value = error.get("input")
        # A secret's value is never shown, even a wrong one (it may be right but misplaced).
        shown = f"={value!r}" if isinstance(value, (str, int, float)) and name not in SECRET_SETTINGS else ""
        expected = expected_value(error)
        message = f"expected {expected}" if expected else error["msg"].removeprefix("Value error, ")
        problems.append(f"{name}{shown}: {message[:1].lower()}{message[1:]}")
    return "invalid setting: " + "; ".join(problems) + " (fix or unset the variable)"


def default_cpu() -> float:
    return float(os.cpu_count() or 1)
