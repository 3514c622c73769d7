"""Units people write in definitions and settings: memory sizes (`512Mi`, `2Gi`).

A module of its own, with no dependency, so that settings, the executor's capacity and workflow
definitions read sizes the same way without importing each other.
"""

from __future__ import annotations

import math
import re
from typing import Any

_MEMORY_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(Ki|Mi|Gi|Ti|K|M|G|T|k)?\s*$")
_MEMORY_UNITS = {
    None: 1, "K": 10**3, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
}


def parse_memory(value: Any) -> int:
    """`"512Mi"`, `"1Gi"`, `"100M"` or a finite number of bytes -> bytes."""
    if isinstance(value, bool):
        raise ValueError(f"invalid memory {value!r}: use e.g. 512Mi, 2Gi")
    size: float | None = None
    if isinstance(value, (int, float)):
        size = value
    elif isinstance(value, str):
        m = _MEMORY_RE.match(value)
        if m:
            size = float(m.group(1)) * _MEMORY_UNITS[m.group(2)]
    if size is None:
        raise ValueError(f"invalid memory {value!r}: use e.g. 512Mi, 2Gi")
    if isinstance(size, float) and not math.isfinite(size):  # int(inf) would raise OverflowError
        raise ValueError(f"invalid memory {_short(value)}: must be a finite number of bytes")
    if size < 0:
        raise ValueError(f"invalid memory {value!r}: must not be negative")
    return int(size)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."
