"""`${...}` parameter references and `$[...]` date expressions inside task fields.

Syntax
- `${name}`: a parameter: run-time (`-p`), task `params`, workflow `params`, or a built-in
  (`ds`, `ds_nodash`, `logical_date`, `run_id`, ...), looked up in that order.
- `${task.key}`: output `key` of task `task` (which must be upstream of the reader).
- `$[fmt]`, `$[fmt+N]`, `$[fmt-N]`, `$[add_months(fmt,N)]`, `$[this_day(fmt)]`, ...: the
  logical date formatted with a DolphinScheduler-style pattern, optionally shifted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

# A task name may contain '-', a param or output key may not.
_REF_RE = re.compile(r"\$\{\s*([A-Za-z_][A-Za-z0-9_-]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?\s*\}")
_DATE_RE = re.compile(r"\$\[([^\[\]]*)\]")


@dataclass(frozen=True)
class Reference:
    """One reference found in a text; `start` is its offset in that text."""

    kind: Literal["param", "output", "date"]
    text: str
    start: int
    name: str = ""  # param name, or the task name for an output
    key: str = ""  # output key (kind == "output")
    expr: str = ""  # date expression (kind == "date")


def find_references(text: str) -> list[Reference]:
    """Every `${...}` and `$[...]` reference in `text`, in order of appearance."""
    refs: list[Reference] = []
    for m in _REF_RE.finditer(text):
        if m.group(2):
            refs.append(Reference("output", m.group(0), m.start(), name=m.group(1), key=m.group(2)))
        else:
            refs.append(Reference("param", m.group(0), m.start(), name=m.group(1)))
    for m in _DATE_RE.finditer(text):
        refs.append(Reference("date", m.group(0), m.start(), expr=m.group(1).strip()))
    refs.sort(key=lambda r: r.start)
    return refs
