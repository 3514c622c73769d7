"""`shoal.services` is cheap to import (the CLI imports it to show --help) and hands out what
callers need without their importing the engine."""

from __future__ import annotations

import json
import subprocess
import sys

from shoal import services


def test_importing_the_face_loads_no_engine_store_or_sqlalchemy() -> None:
    code = (
        "import json, sys, shoal.services; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('sqlalchemy', 'shoal.engine', "
        "'shoal.store', 'shoal.spec.models', 'pydantic')))))"
    )
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                       text=True).stdout)
    assert loaded == []


def test_names_and_nouns_load_on_first_use() -> None:
    assert services.RunState.SUCCESS == "success" and services.TaskRunState.UPSTREAM_FAILED == "upstream_failed"
    assert services.DEFAULT_PROJECT == "default"
    assert services.runs.list_runs and services.workflows.apply_path and services.logs.follow
    assert services.schedules.pause and services.home.open_home


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        services.nothing_here  # noqa: B018 - the lookup is the test
    except AttributeError as exc:
        assert "nothing_here" in str(exc)
    else:
        raise AssertionError("services.nothing_here did not raise")
