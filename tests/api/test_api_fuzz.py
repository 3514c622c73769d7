"""schemathesis against the API's own OpenAPI schema: every operation, with a valid token and
without one. Whatever it sends, no answer is a 5xx, every 4xx has the error body
`{"error": {"code", "message", "details"}}`, and without a token nothing but /health answers.

The examples are bounded (hypothesis `max_examples`) so that the whole schema runs in a few
minutes. The two event streams are left out: a queued run's stream only ends when a scheduler
ends the run (`test_server_process.py` follows them against a real server)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from shoal.api.app import create_app
from shoal.services import users
from shoal.store import Store
from tests.api.conftest import WF
from tests.conftest import add_team

pytestmark = pytest.mark.slow  # a few minutes: hundreds of requests per backend

EXAMPLES = 12
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


def seeded(store: Store) -> None:
    """Users, a project, a workflow, runs of it (one stopped) and a schedule, so that generated
    ids and names sometimes find something."""
    from shoal.services import runs, workflows

    add_team(store)
    workflows.apply_text(store, WF.format(name="w", project="fraud"))
    workflows.apply_text(store, "name: nightly\nschedule: {cron: '0 2 * * *'}\ntasks: [{name: a, type: shell, "
                                "command: 'true'}]\n")
    for _ in range(2):
        runs.trigger(store, "w", project="fraud")
    runs.stop(store, [1], project="fraud")


def check(response: Any, authorised: bool, path: str) -> None:
    assert response.status_code < 500, f"{response.status_code} {response.text[:500]}"
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
        assert isinstance(body["error"]["details"], dict) and body["error"]["message"], body
    if not authorised and path != "/health":
        assert response.status_code == 401, f"{path} answered {response.status_code} without a token"


def test_no_5xx_and_every_4xx_in_the_error_shape(store: Store) -> None:
    seeded(store)
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(store))
    operations = [result.ok() for result in schema.exclude(path_regex=r"/(events|follow)$").get_all_operations()]
    assert len(operations) > 30, [op.label for op in operations]

    for operation in operations:
        @given(case=operation.as_strategy())
        @SETTINGS
        def fuzz(case: Any) -> None:
            # A fresh token for every case: a generated DELETE /tokens/{id} may revoke the last one.
            token = users.create_token(store, "root").token
            check(case.call(headers={"Authorization": f"Bearer {token}"}), True, case.path)
            check(case.call(headers={"Authorization": ""}), False, case.path)

        try:
            fuzz()
        except Exception as exc:
            raise AssertionError(f"{operation.label}: {exc}") from exc
