"""Units people write in definitions and settings: durations (`30s`, `5m`) and memory sizes
(`512Mi`, `2Gi`).

A module of its own, with no dependency, so that settings, the executor's capacity and workflow
definitions read them the same way without importing each other.
"""

from __future__ import annotations

import math
import re
from typing import Any

# The text forms, also the `pattern` of these fields in JSON Schema (the UI's forms): keep them
# to the regex syntax JavaScript shares.
DURATION_PATTERN = r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$"
MEMORY_PATTERN = r"^\s*(\d+(?:\.\d+)?)\s*(Ki|Mi|Gi|Ti|K|M|G|T|k)?\s*$"
_DURATION_RE = re.compile(DURATION_PATTERN)
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
_MEMORY_RE = re.compile(MEMORY_PATTERN)
_MEMORY_UNITS = {
    None: 1, "K": 10**3, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
}


def parse_duration(value: Any) -> float:
    """`"1s"`, `"5m"`, `"2h"`, `"1d"`, `"250ms"` or a finite number of seconds -> seconds."""
    return float(_amount(value, _DURATION_RE, _DURATION_UNITS, "duration", "30s, 5m, 2h, 1d", "seconds"))


def parse_memory(value: Any) -> int:
    """`"512Mi"`, `"1Gi"`, `"100M"` or a finite number of bytes -> bytes."""
    return int(_amount(value, _MEMORY_RE, _MEMORY_UNITS, "memory", "512Mi, 2Gi", "bytes"))


def _amount(value: Any, pattern: re.Pattern[str], units: dict[str | None, float], what: str, example: str,
            unit: str) -> float:
    """A number, or a number with one of `units` as `pattern` reads it, in the base unit."""
    if isinstance(value, bool):
        raise ValueError(f"invalid {what} {value!r}: use e.g. {example}")
    amount: float | None = None
    if isinstance(value, (int, float)):
        amount = value
    elif isinstance(value, str) and (m := pattern.match(value)):
        amount = float(m.group(1)) * units[m.group(2)]
    if amount is None:
        raise ValueError(f"invalid {what} {value!r}: use e.g. {example}")
    # YAML .inf/.nan, or more digits than a float holds (int(inf) would raise OverflowError)
    if isinstance(amount, float) and not math.isfinite(amount):
        raise ValueError(f"invalid {what} {_short(value)}: must be a finite number of {unit}")
    if amount < 0:
        raise ValueError(f"invalid {what} {value!r}: must not be negative")
    return amount


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."
