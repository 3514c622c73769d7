"""How long feature jobs report progress: a callback the caller renders (a CLI bar, a log line).

    def progress(done: int, total: int | None) -> None: ...

`done` only grows and ends at `total` when the work completes; `total` is None while it is not
known. Units are the job's own (rows stored, rows checked, percent of a query) and are named
where each job takes the callback.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int, "int | None"], None]
