"""Settings from SHOAL_* environment variables (pydantic-settings).

`SHOAL_HOME` (default `./.shoal`) holds the embedded SQLite database, logs and artifacts.
`SHOAL_DB_URL` switches the metadata database to PostgreSQL (or any SQLAlchemy URL).
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHOAL_", extra="ignore")

    home: Path = Field(default=Path(".shoal"), description="where embedded state lives")
    db_url: str | None = Field(default=None, description="SQLAlchemy URL of the metadata database")
    artifacts: str | None = Field(default=None, description="fsspec URL for artifacts")
    # Local executor capacity; default: what the machine has.
    cpu: float | None = Field(default=None, description="cpu slots of the local executor")
    memory: str | None = Field(default=None, description="memory of the local executor, e.g. 8Gi")
    # Online feature store: "memory" (a snapshot file under SHOAL_HOME) or a redis:// URL.
    online_store: str = Field(default="memory", description="memory or redis://host:port/db")
    # How long a driver's claim on a run lasts without a heartbeat before another takes it over.
    lease_seconds: float = 15.0
    # How long a stopping scheduler (SIGTERM, Ctrl+C) lets running attempts finish before it
    # kills them; either way it then lets go of its runs for the next scheduler.
    stop_grace_seconds: float = Field(default=30.0, ge=0)

    @cached_property
    def home_dir(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def database_url(self) -> str:
        if self.db_url:
            return self.db_url
        return f"sqlite:///{self.home_dir / 'shoal.db'}"

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
        """These settings as SHOAL_* variables: task processes open the same store with them."""
        env = {"SHOAL_HOME": str(self.home_dir), "SHOAL_ONLINE_STORE": self.online_store}
        if self.db_url:
            env["SHOAL_DB_URL"] = self.db_url
        if self.artifacts:
            env["SHOAL_ARTIFACTS"] = self.artifacts
        return env


def get_settings() -> Settings:
    """Read settings afresh: tests and the CLI change the environment between calls."""
    return Settings()


def default_cpu() -> float:
    return float(os.cpu_count() or 1)
