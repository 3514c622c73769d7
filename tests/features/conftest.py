"""Fixtures for feature tests: a small synthetic TalkingData file and a Redis URL that must work in CI."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from examples.talkingdata.make_data import make

ROOT = Path(__file__).parents[2]
TALKINGDATA_SQL = ROOT / "examples" / "talkingdata" / "features.sql"
REDIS_URL = os.environ.get("SHOAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def talkingdata_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("td") / "talkingdata.csv"
    make(str(path), rows=3000)
    return path


def require_redis() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError as e:
        if IN_CI:
            pytest.fail(f"Redis must be available in CI ({REDIS_URL}): {e}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {e}")
    return REDIS_URL


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix of its own, so that tests never see (or delete) each other's keys."""
    return f"shoal-test-{uuid.uuid4().hex[:10]}"
