"""How much of this machine the engine may hand out to running tasks.

`Capacity` is the whole budget (cpu slots, memory bytes, gpus): by default what the machine has,
overridable with `SHOAL_CPU`, `SHOAL_MEMORY` (e.g. "8Gi") and `SHOAL_GPU`. `Slots` is the ledger
the engine keeps against it: a task is started only when its declared resources `fits`, it
`take`s them while it runs and they are `release`d when its attempt ends. A task that asks for
more than the whole capacity would wait forever, so `can_ever_fit` / `never_fits_reason` let the
engine fail it at once with a message saying what to change.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Mapping
from dataclasses import dataclass

from shoal.errors import InvalidInput

CPU_EPSILON = 1e-9  # cpu requests are fractions like 0.1; their sums must not drift past the cap


@dataclass(frozen=True)
class Capacity:
    cpu: float
    memory: int  # bytes
    gpu: int = 0

    def __post_init__(self) -> None:
        if self.cpu < 0 or self.memory < 0 or self.gpu < 0:
            raise InvalidInput(f"capacity must not be negative: {self}")


def default_capacity(env: Mapping[str, str] | None = None) -> Capacity:
    """This machine's capacity, with `SHOAL_CPU` / `SHOAL_MEMORY` / `SHOAL_GPU` taking precedence."""
    env = os.environ if env is None else env
    if env.get("SHOAL_CPU"):
        try:
            cpu = float(env["SHOAL_CPU"])
        except ValueError:
            raise InvalidInput(
                f"SHOAL_CPU={env['SHOAL_CPU']!r} is not a number of cpus; use e.g. 4 or 0.5"
            ) from None
    else:
        cpu = float(_usable_cpus())
    if env.get("SHOAL_MEMORY"):
        from shoal.units import parse_memory

        try:
            memory = parse_memory(env["SHOAL_MEMORY"])
        except ValueError as exc:
            raise InvalidInput(f"SHOAL_MEMORY: {exc}") from None
    else:
        import psutil

        memory = int(psutil.virtual_memory().total)
    if env.get("SHOAL_GPU"):
        try:
            gpu = int(env["SHOAL_GPU"])
        except ValueError:
            raise InvalidInput(f"SHOAL_GPU={env['SHOAL_GPU']!r} is not a whole number of gpus") from None
    else:
        gpu = len(glob.glob("/dev/nvidia[0-9]*"))
    return Capacity(cpu=cpu, memory=memory, gpu=gpu)


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))  # honours taskset/cgroup cpusets, unlike cpu_count
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def format_memory(n: int) -> str:
    for unit, size in (("Ti", 1 << 40), ("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)):
        if n >= size:
            value = n / size
            return f"{value:.0f}{unit}" if value == int(value) else f"{value:.1f}{unit}"
    return f"{n}B"


class Slots:
    """The ledger of resources held by running attempts, keyed by attempt key."""

    def __init__(self, capacity: Capacity) -> None:
        self.capacity = capacity
        self._held: dict[str, tuple[float, int, int]] = {}
        self.cpu = 0.0  # in use
        self.memory = 0
        self.gpu = 0

    def fits(self, cpu: float = 0.0, memory: int = 0, gpu: int = 0) -> bool:
        """True if a task needing this could start now."""
        _check(cpu, memory, gpu)
        cap = self.capacity
        return (
            self.cpu + cpu <= cap.cpu + CPU_EPSILON
            and self.memory + memory <= cap.memory
            and self.gpu + gpu <= cap.gpu
        )

    def can_ever_fit(self, cpu: float = 0.0, memory: int = 0, gpu: int = 0) -> bool:
        """False if the request exceeds the whole capacity, i.e. it would wait forever."""
        return self.never_fits_reason(cpu, memory, gpu) is None

    def never_fits_reason(self, cpu: float = 0.0, memory: int = 0, gpu: int = 0) -> str | None:
        """Why the request can never be met by this capacity, or None if it can."""
        _check(cpu, memory, gpu)
        cap = self.capacity
        if cpu > cap.cpu + CPU_EPSILON:
            return (
                f"needs {cpu:g} cpu but this executor has {cap.cpu:g} (lower resources.cpu or set SHOAL_CPU)"
            )
        if memory > cap.memory:
            return (
                f"needs {format_memory(memory)} memory but this executor has {format_memory(cap.memory)}"
                " (lower resources.memory or set SHOAL_MEMORY)"
            )
        if gpu > cap.gpu:
            return f"needs {gpu} gpu but this executor has {cap.gpu} (lower resources.gpu or set SHOAL_GPU)"
        return None

    def take(self, key: str, cpu: float = 0.0, memory: int = 0, gpu: int = 0) -> None:
        """Hold resources for attempt `key`; call only after `fits` said yes."""
        if key in self._held:
            raise ValueError(f"attempt {key!r} already holds resources")
        if not self.fits(cpu, memory, gpu):
            raise ValueError(f"attempt {key!r} does not fit: check fits() before take()")
        self._held[key] = (cpu, memory, gpu)
        self.cpu += cpu
        self.memory += memory
        self.gpu += gpu

    def release(self, key: str) -> None:
        """Give back what `key` holds; releasing twice (or an unknown key) does nothing."""
        held = self._held.pop(key, None)
        if held is None:
            return
        _, memory, gpu = held
        self.memory -= memory
        self.gpu -= gpu
        # Recompute rather than subtract so float error cannot accumulate over a long run.
        self.cpu = sum(c for c, _, _ in self._held.values())

    def holders(self) -> set[str]:
        return set(self._held)

    def free(self) -> Capacity:
        cap = self.capacity
        return Capacity(max(0.0, cap.cpu - self.cpu), cap.memory - self.memory, cap.gpu - self.gpu)


def _check(cpu: float, memory: int, gpu: int) -> None:
    if cpu < 0 or memory < 0 or gpu < 0:
        raise ValueError(f"resource requests must not be negative (cpu={cpu}, memory={memory}, gpu={gpu})")
