"""Capacity from the machine or the environment, and the Slots ledger the engine keeps."""

from __future__ import annotations

import os

import psutil
import pytest

from shoal.errors import InvalidInput
from shoal.executors.capacity import Capacity, Slots, default_capacity

GI = 1 << 30


def test_default_capacity_is_the_machine() -> None:
    cap = default_capacity({})
    assert cap.cpu == float(len(os.sched_getaffinity(0)))
    assert cap.memory == psutil.virtual_memory().total
    assert cap.gpu >= 0


def test_environment_overrides_the_machine() -> None:
    cap = default_capacity({"SHOAL_CPU": "8", "SHOAL_MEMORY": "8Gi", "SHOAL_GPU": "2"})
    assert cap == Capacity(cpu=8.0, memory=8 * GI, gpu=2)
    assert default_capacity({"SHOAL_CPU": "0.5"}).cpu == 0.5


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SHOAL_CPU": "lots"}, "SHOAL_CPU='lots' is not a number"),
        ({"SHOAL_MEMORY": "8 gigs"}, "SHOAL_MEMORY: invalid memory"),
        ({"SHOAL_GPU": "1.5"}, "SHOAL_GPU='1.5' is not a whole number"),
        ({"SHOAL_CPU": "-1"}, "must not be negative"),
    ],
)
def test_bad_environment_values_are_rejected_clearly(env: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        default_capacity(env)


def test_take_and_release_track_what_is_free() -> None:
    slots = Slots(Capacity(cpu=2, memory=4 * GI, gpu=1))
    assert slots.fits(1, GI)
    slots.take("a:1", 1, GI)
    slots.take("b:1", 0.5, 2 * GI, 1)
    assert slots.holders() == {"a:1", "b:1"}
    assert slots.free() == Capacity(cpu=0.5, memory=GI, gpu=0)
    assert slots.fits(0.5, GI)
    assert not slots.fits(0.6)
    assert not slots.fits(0, 2 * GI)
    assert not slots.fits(0, 0, 1)
    with pytest.raises(ValueError, match="does not fit"):
        slots.take("c:1", 1)
    slots.release("b:1")
    slots.release("b:1")  # twice: nothing happens
    slots.release("never:1")
    assert slots.free() == Capacity(cpu=1, memory=3 * GI, gpu=1)


def test_fractional_cpus_add_up_exactly_to_the_cap() -> None:
    slots = Slots(Capacity(cpu=1, memory=GI))
    for i in range(10):
        assert slots.fits(0.1)
        slots.take(f"t{i}:1", 0.1)
    assert not slots.fits(0.1)
    for i in range(10):
        slots.release(f"t{i}:1")
    assert slots.cpu == 0


def test_same_key_cannot_take_twice() -> None:
    slots = Slots(Capacity(cpu=4, memory=GI))
    slots.take("a:1", 1)
    with pytest.raises(ValueError, match="already holds"):
        slots.take("a:1", 1)


def test_request_larger_than_the_whole_capacity_can_never_fit() -> None:
    slots = Slots(Capacity(cpu=2, memory=4 * GI, gpu=0))
    assert slots.can_ever_fit(2, 4 * GI)
    slots.take("busy:1", 2, 4 * GI)
    assert slots.can_ever_fit(2, 4 * GI)  # later, once the machine is free again
    assert not slots.can_ever_fit(3)
    assert (
        slots.never_fits_reason(3)
        == "needs 3 cpu but this executor has 2 (lower resources.cpu or set SHOAL_CPU)"
    )
    assert "needs 8Gi memory but this executor has 4Gi" in (slots.never_fits_reason(0, 8 * GI) or "")
    assert "needs 1 gpu but this executor has 0" in (slots.never_fits_reason(0, 0, 1) or "")


def test_negative_requests_are_rejected() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        Slots(Capacity(cpu=1, memory=GI)).fits(-1)
