"""One bad input never stops the driver: random params, logical dates and upstream outputs are
driven through every kind of task; each run is refused at the door (InvalidInput) or ends, and the
driver that drove it goes on to drive the next."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from shoal.client import Client
from shoal.engine.states import RUN_TERMINAL
from shoal.errors import InvalidInput

pytestmark = pytest.mark.slow  # seconds each: left out of `make test-fast`

# Text that tries every syntax the engine and the task types read: references, date expressions,
# shell and SQL quoting, JSON, NUL and other control characters, and very long values.
_PIECES = st.sampled_from([
    "${", "}", "$[", "]", "$${", "$$[", "${x}", "${up.v}", "$[yyyyMMdd-1]", "$[add_months(yyyyMMdd,-99999)]",
    "'", '"', "`", "$(", ")", ";", "&&", "|", "\\", "\n", "\r", "\x00", "\x1b", "%", "?", ":name", "--", "/*",
    "<<EOF", "a[$(x)]", "{", "[", "null", "1e999", "-0", "9" * 30, "é", "\U0001f600", "\ud800",
])
TEXT = st.lists(st.one_of(_PIECES, st.text(max_size=8)), max_size=12).map("".join)
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3),
    max_leaves=8,
)
DATES = st.one_of(
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 12, 31)).map(lambda d: d.isoformat()),
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)).map(lambda d: d.isoformat()),
    st.sampled_from(["0001-01-01", "9999-12-31", "9999-12-31T23:00", "1000-01-01", "9998-12-31T23:59:59",
                     "2026-02-29", "2026-13-01", "now", ""]),
)

WORKFLOW = {
    "name": "fuzz",
    "params": {"x": "", "n": "0"},
    "failure_strategy": "continue",  # every task gets its turn, whatever another did
    "tasks": [
        {"name": "up", "type": "python", "script": "import json\noutputs = json.loads(bytes.fromhex(${blob}).decode())",
         "params": {"blob": "7b7d"}},
        {"name": "sh", "type": "shell", "upstream": ["up"], "env": {"X": "${x}"},
         "command": "echo ${x} \"${up.v}\" '${n}' $[yyyyMMdd-1] ${ds}; echo \"##shoal:set w=${x}\""},
        {"name": "plain", "type": "shell", "upstream": ["up"], "command": "echo ${up.v}"},
        {"name": "arith", "type": "shell", "upstream": ["up"], "command": "echo $(( ${n} + 1 ))"},
        {"name": "q", "type": "sql", "upstream": ["up"], "output": "first_row",
         "sql": "select '${x}' as a, ${n} as b, \"c_${up.v}\".* from (select 1) as \"c_${up.v}\""},
        {"name": "py", "type": "python", "upstream": ["up"],
         "script": "outputs = {'a': \"${x}\", 'b': ${n}, 'c': '${up.v}'}"},
        {"name": "kw", "type": "python", "upstream": ["up"], "callable": "builtins:dict",
         "kwargs": {"obj": "${up.v}", "text": "${x}", "none": None}},
        {"name": "gate", "type": "switch", "upstream": ["sh"],
         "cases": [{"when": "${up.v} == ${n} or '${x}' == ${sh.w}", "then": "yes"}], "default": "no"},
        {"name": "yes", "type": "shell", "upstream": ["gate"], "command": "true"},
        {"name": "no", "type": "condition", "upstream": ["gate"], "trigger_rule": "all_done",
         "success_branch": ["last"]},
        {"name": "last", "type": "shell", "upstream": ["no"], "command": "echo ${x}"},
        {"name": "child", "type": "sub_workflow", "upstream": ["up"], "workflow": "fuzz_child",
         "params": {"x": "${x}", "n": "${up.v}"}},
    ],
}
CHILD = {
    "name": "fuzz_child",
    "params": {"x": "", "n": ""},
    "tasks": [{"name": "c", "type": "shell", "command": "echo ${x} ${n} $[yyyyMMdd+1]"}],
}


@pytest.fixture
def fuzz_client(client: Client, workdir: Path) -> Client:
    for wf in (CHILD, WORKFLOW):
        path = workdir / f"{wf['name']}.json"
        path.write_text(json.dumps(wf))
        client.apply_path(path)
    return client


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(x=TEXT, n=TEXT | st.integers().map(str), v=JSONISH, extra=JSONISH, date=DATES)
def test_random_params_dates_and_outputs_never_stop_the_driver(
    fuzz_client: Client, x: str, n: str, v: object, extra: object, date: str
) -> None:
    # The upstream task's outputs are exactly {"v": v, "extra": extra} (hex keeps them away from
    # the `${...}` a run-time value may hold).
    blob = json.dumps({"v": v, "extra": extra}).encode().hex()
    try:
        info = fuzz_client.run("fuzz", params={"x": x, "n": n, "blob": blob}, date=date or None, wait=True,
                               timeout=120)
    except InvalidInput:
        event("refused at the door")
        return  # refused at the door: nothing was created
    event(f"run {info.state}")
    assert info.state in RUN_TERMINAL, info
    for task in info.tasks:
        assert task.state in {"success", "failed", "skipped", "upstream_failed", "stopped"}, task
    # The same driver goes on: an ordinary run right after ends well.
    ok = fuzz_client.run("fuzz_child", params={"x": "a", "n": "1"}, date="2026-03-01", wait=True, timeout=60)
    assert ok.state == "success", ok


@pytest.mark.parametrize(("stored", "timezone"), [
    (datetime(1, 1, 1), "UTC"), (datetime(1, 1, 1, 3), "America/New_York"), (datetime(9999, 12, 31, 23), "Asia/Tokyo"),
])
def test_a_run_stored_with_an_unusable_date_fails_alone(
    fuzz_client: Client, stored: datetime, timezone: str
) -> None:
    # As an older shoal could store it, before dates were checked at the door.
    from sqlalchemy import update

    from shoal.engine.runs import get_run, trigger_run
    from shoal.store.models import runs

    store = fuzz_client.store
    bad = trigger_run(store, "fuzz_child", params={"x": "a", "n": "1"}, logical_date="2026-03-01")
    with store.engine.begin() as conn:
        conn.execute(update(runs).where(runs.c.id == bad).values(logical_date=stored, timezone=timezone))
    good = trigger_run(store, "fuzz_child", params={"x": "b", "n": "2"}, logical_date="2026-03-01")
    fuzz_client.wait([bad, good], timeout=60)
    infos = {i: get_run(store, i) for i in (bad, good)}
    assert infos[good].state == "success", infos[good]
    assert infos[bad].state == "failed", infos[bad]
    error = next(t.error for t in infos[bad].tasks if t.error)
    assert "out of range" in error, infos[bad]
