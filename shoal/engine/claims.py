"""Who drives a run: owners, leases, claiming and the gates on starting queued runs.

A run belongs to one driver at a time: `runs.owner` names it and `runs.lease_until` says until
when. Ownership moves only as `OWNERSHIP_MOVES` lists, each as one UPDATE guarded on the owner
it expects, so two drivers never both take a run:

- claim: a driver takes a run nobody owns, that it owns already, whose lease ran out, or whose
  owner died on this host (`is_owner_dead`);
- renew: the owner extends its leases (a heartbeat, every third of a lease);
- release: the owner lets go (a drain), so the next driver claims at once.

A run that ends keeps its owner but loses its lease (`lease_until=None`, in the same move as its
state). Everything here takes the caller's connection and returns what it found: the driver
alone loads runs and records.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psutil
from sqlalchemy import Connection, func, select, update

from shoal.engine.states import RunState
from shoal.engine.workflows import version_spec
from shoal.store import utcnow
from shoal.store.models import backfills, runs, workflows

log = logging.getLogger(__name__)
# Paused runs too: a driver that dies leaves a paused run's running attempts for the next.
CLAIMABLE_STATES = [str(RunState.QUEUED), str(RunState.RUNNING), str(RunState.PAUSED)]
# Runs that hold a place under max_active_runs and a backfill's `parallel`.
STARTED_STATES = [str(RunState.RUNNING), str(RunState.PAUSED)]

# name -> (owner before, owner after, why). The only ownership moves there are.
OWNERSHIP_MOVES: dict[str, tuple[str, str, str]] = {
    "claim": ("nobody, this driver, or one whose lease ran out or who died", "this driver",
              "a driver starts driving a queued run or takes over an orphaned one"),
    "renew": ("this driver", "this driver", "heartbeat: the lease moves on"),
    "release": ("this driver", "nobody", "a draining driver hands its runs on at once"),
}


def make_owner() -> str:
    """`host:pid:start-time`: lets a driver on the same host tell at once that an owner died."""
    me = psutil.Process()
    return f"{socket.gethostname()}:{me.pid}:{me.create_time():.3f}"


def is_owner_dead(owner: str) -> bool:
    """True only if the owner ran on this host and its process is gone (or is another process)."""
    host, _, rest = owner.partition(":")
    if host != socket.gethostname():
        return False
    pid_text, _, ctime = rest.partition(":")
    try:
        proc = psutil.Process(int(pid_text))
        return abs(proc.create_time() - float(ctime)) > 0.5
    except (psutil.NoSuchProcess, ValueError):
        return True
    except psutil.Error:
        return False


def is_claimable(row: Any, owner: str, now: datetime) -> bool:
    """May `owner` claim the run `row` (with `owner` and `lease_until`) now?"""
    return (
        row.owner is None or row.owner == owner
        or (row.lease_until is not None and row.lease_until < now) or is_owner_dead(row.owner)
    )


def claim_run(conn: Connection, run_id: int, previous: str | None, owner: str, lease_until: datetime) -> bool:
    """The `claim` move: guarded on the owner seen when the run was found claimable."""
    guard = runs.c.owner.is_(None) if previous is None else runs.c.owner == previous
    moved = conn.execute(
        update(runs).where(runs.c.id == run_id, guard).values(owner=owner, lease_until=lease_until)
    ).rowcount
    return bool(moved)


def renew_leases(conn: Connection, ids: Collection[int], owner: str, lease_until: datetime) -> int:
    """The `renew` move; returns how many of `ids` are still this owner's."""
    return conn.execute(
        update(runs).where(runs.c.id.in_(list(ids)), runs.c.owner == owner).values(lease_until=lease_until)
    ).rowcount


def release_runs(conn: Connection, ids: Collection[int], owner: str) -> None:
    """The `release` move."""
    conn.execute(
        update(runs).where(runs.c.id.in_(list(ids)), runs.c.owner == owner).values(owner=None, lease_until=None)
    )


class Leases:
    """When to renew a driver's leases, and whether they are surely still current."""

    def __init__(self, owner: str, lease_seconds: float) -> None:
        self.owner = owner
        self.lease_seconds = lease_seconds
        self.next_renewal = 0.0
        self._sure_until = 0.0

    def is_due(self) -> bool:
        return time.monotonic() >= self.next_renewal

    def renew(self, conn: Connection, ids: Collection[int]) -> bool:
        """Renew the leases of `ids`; False if some run is not this driver's any more (stopped
        or taken over), which the caller then looks at."""
        began = time.monotonic()
        renewed = renew_leases(conn, ids, self.owner, utcnow() + timedelta(seconds=self.lease_seconds))
        self.next_renewal = time.monotonic() + self.lease_seconds / 3
        self._sure_until = began + self.lease_seconds / 2
        return renewed >= len(ids)

    def claimed(self) -> None:
        """The first leases were just taken: as fresh as a renewal's."""
        self._sure_until = time.monotonic() + self.lease_seconds / 2

    def is_sure(self) -> bool:
        """Were the leases renewed recently enough that none can have run out? Not after the
        process was paused (SIGSTOP, a VM freeze) for longer than half a lease."""
        return time.monotonic() < self._sure_until

    def forget_sureness(self) -> None:
        """As if paused past a lease: the next outcome is written before anything starts."""
        self._sure_until = 0.0


@dataclass
class Claimed:
    """What a claim took: each run with its owner before, and the runs queued ahead of the ones
    a limited driver waits for that it now drives too (`Claimer.claim`)."""

    runs: list[tuple[int, str | None]] = field(default_factory=list)
    adopted: set[int] = field(default_factory=set)


class Claimer:
    """Finds the runs a driver may claim and claims them, honouring the admission gates
    (`max_active_runs` of a workflow, `parallel` of a backfill)."""

    def __init__(self, owner: str, *, is_pg: bool) -> None:
        self.owner = owner
        self.is_pg = is_pg
        self._run_limits: dict[int, int | None] = {}  # version id -> its max_active_runs

    def claim(
        self, conn: Connection, *, only: set[int] | None, active: Iterable[int], now: datetime, lease_until: datetime,
    ) -> Claimed:
        """Claim the queued or orphaned runs this driver may drive (of `only`, if given)."""
        active = set(active)
        q = select(
            runs.c.id, runs.c.owner, runs.c.lease_until, runs.c.state, runs.c.backfill_id, runs.c.logical_date,
            runs.c.workflow_id, runs.c.version_id,
        ).where(runs.c.state.in_(CLAIMABLE_STATES))
        if only is not None:
            q = q.where(runs.c.id.in_(list(only - active)))
        elif active:
            q = q.where(runs.c.id.not_in(list(active)))
        if self.is_pg:
            q = q.with_for_update(skip_locked=True)
        claimed = Claimed()
        rows = [r for r in conn.execute(q).all() if is_claimable(r, self.owner, now)]
        rows, ahead = self._gate_backfills(conn, rows)
        rows, ahead_too = self._gate_active_runs(conn, rows)
        if only is not None:
            adopted = self._queued_ahead(conn, (ahead | ahead_too) - {r.id for r in rows}, now)
            claimed.adopted = {r.id for r in adopted}
            rows += adopted
        for r in rows:
            if claim_run(conn, r.id, r.owner, self.owner, lease_until):
                claimed.runs.append((r.id, r.owner))
        return claimed

    def _queued_ahead(self, conn: Connection, ids: set[int], now: datetime) -> list[Any]:
        """A driver limited to some runs (a waiting command) whose runs wait behind earlier queued
        runs of their workflow or backfill that nobody drives takes those too: otherwise it would
        wait for ever for runs no one starts."""
        if not ids:
            return []
        rows = [
            r for r in conn.execute(
                select(runs.c.id, runs.c.owner, runs.c.lease_until, runs.c.state)
                .where(runs.c.id.in_(sorted(ids)), runs.c.state == str(RunState.QUEUED))
            ).all()
            if is_claimable(r, self.owner, now)
        ]
        for r in rows:
            log.info("run %s is queued ahead of the runs waited for and nobody drives it: driving it too", r.id)
        return rows

    def _gate_active_runs(self, conn: Connection, rows: list[Any]) -> tuple[list[Any], set[int]]:
        """A workflow with `max_active_runs` starts queued runs only while fewer are running,
        earliest logical date first (so a catch-up or backfill goes through its dates in order).
        Returns the rows that may start and the ids of every queued run of those workflows that
        may start now, claimable here or not."""
        queued = [r for r in rows if r.state == RunState.QUEUED]
        if not queued:
            return rows, set()
        newest: dict[int, int] = {}  # workflow -> its newest version among the candidates
        for r in queued:
            newest[r.workflow_id] = max(newest.get(r.workflow_id, 0), r.version_id)
        allowed: set[int] = set()
        gated: set[int] = set()
        for wf_id, version_id in newest.items():
            limit = self._max_active_runs(conn, version_id)
            if limit is None:
                continue
            gated.add(wf_id)
            if self.is_pg:  # serialise claims of this workflow's runs between schedulers
                conn.execute(select(workflows.c.id).where(workflows.c.id == wf_id).with_for_update())
            allowed.update(next_queued(conn, runs.c.workflow_id == wf_id, limit, runs.c.logical_date.asc()))
        return [r for r in rows if r.state != RunState.QUEUED or r.workflow_id not in gated or r.id in allowed], allowed

    def _max_active_runs(self, conn: Connection, version_id: int) -> int | None:
        """A version's `max_active_runs` (versions are immutable: read once)."""
        if version_id not in self._run_limits:
            self._run_limits[version_id] = version_spec(conn, version_id)[0].max_active_runs
        return self._run_limits[version_id]

    def _gate_backfills(self, conn: Connection, rows: list[Any]) -> tuple[list[Any], set[int]]:
        """A backfill starts at most `parallel` of its queued runs at once, in date order.
        Returns the rows that may start and the ids of every run of those backfills that may."""
        queued = [r for r in rows if r.backfill_id is not None and r.state == RunState.QUEUED]
        if not queued:
            return rows, set()
        allowed: set[int] = set()
        for bf_id in {r.backfill_id for r in queued}:
            bf = conn.execute(select(backfills).where(backfills.c.id == bf_id)).one()
            # The next runs in order are the earliest queued ones of the whole backfill, not only
            # of those claimable here, so a serial backfill never skips ahead.
            order = runs.c.logical_date.desc() if bf.descending else runs.c.logical_date.asc()
            allowed.update(next_queued(conn, runs.c.backfill_id == bf_id, bf.parallel, order))
        return [r for r in rows if r.backfill_id is None or r.state != RunState.QUEUED or r.id in allowed], allowed


def next_queued(conn: Connection, group: Any, limit: int, order: Any) -> list[int]:
    """The queued runs of `group` (a WHERE clause) that may start now so that at most `limit`
    of the group run: the first ones by `order` (then id), counting those started already
    (running or paused)."""
    running = conn.execute(
        select(func.count()).select_from(runs).where(group, runs.c.state.in_(STARTED_STATES))
    ).scalar_one()
    if running >= limit:
        return []
    return list(conn.execute(
        select(runs.c.id).where(group, runs.c.state == str(RunState.QUEUED))
        .order_by(order, runs.c.id.asc()).limit(limit - running)
    ).scalars())


__all__ = [
    "OWNERSHIP_MOVES", "Claimed", "Claimer", "Leases", "claim_run", "is_claimable", "is_owner_dead", "make_owner",
    "release_runs", "renew_leases",
]
