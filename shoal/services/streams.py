"""What a followed stream (a run's events, a task's log lines) yields while nothing is new.

The command line sleeps between looks; the API must not hold a thread for each follower while
it waits, so its streams ask the generator to yield IDLE instead and wait asynchronously."""

from __future__ import annotations


class Idle:
    """Nothing new yet: look again after a poll interval."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "IDLE"


IDLE = Idle()

__all__ = ["IDLE", "Idle"]
