"""Admission control's ceilings: FLASH before ROUTINE, a batch's items one each."""

from __future__ import annotations

import pytest

from schemas.precedence import Precedence
from services.gateway.admission import Admission
from services.gateway.metrics import GatewayMetrics

FLASH, IMMEDIATE, PRIORITY, ROUTINE = (
    Precedence.FLASH,
    Precedence.IMMEDIATE,
    Precedence.PRIORITY,
    Precedence.ROUTINE,
)


def shed(metrics: GatewayMetrics, precedence: Precedence) -> float:
    value = metrics.registry.get_sample_value(
        "cell_gateway_shed_total", {"precedence": precedence.value}
    )
    return value or 0.0


def test_routine_stops_short_of_the_reserved_share_flash_fills_it():
    metrics = GatewayMetrics()
    admission = Admission(limit=8, reserved=4, metrics=metrics)
    assert [admission.admit(ROUTINE) for _ in range(5)] == [True] * 4 + [False]
    assert admission.pressed
    assert not admission.admit(PRIORITY)
    assert [admission.admit(IMMEDIATE) for _ in range(3)] == [True, True, False]
    assert [admission.admit(FLASH) for _ in range(3)] == [True, True, False]
    assert admission.in_flight == 8
    assert (shed(metrics, ROUTINE), shed(metrics, PRIORITY)) == (1.0, 1.0)
    assert (shed(metrics, IMMEDIATE), shed(metrics, FLASH)) == (1.0, 1.0)
    admission.release(8)
    assert admission.in_flight == 0
    assert not admission.pressed


def test_a_request_takes_all_its_slots_or_none():
    admission = Admission(limit=8, reserved=2, metrics=GatewayMetrics())
    assert admission.admit(ROUTINE, 5)
    assert not admission.admit(ROUTINE, 2)  # 7 > 6
    assert admission.in_flight == 5


def test_batch_items_are_admitted_highest_precedence_first_in_their_order():
    metrics = GatewayMetrics()
    admission = Admission(limit=4, reserved=2, metrics=metrics)
    assert admission.admit(ROUTINE)
    items = [ROUTINE, ROUTINE, FLASH, IMMEDIATE, FLASH]
    # Ceilings ROUTINE 2, IMMEDIATE 3, FLASH 4: 1 held + both FLASH make 3, and then
    # neither IMMEDIATE nor ROUTINE fits.
    assert admission.admit_each(items) == [False, False, True, False, True]
    assert admission.in_flight == 3
    assert shed(metrics, ROUTINE) == 2.0
    assert shed(metrics, IMMEDIATE) == 1.0


def test_the_reserved_share_must_leave_room():
    with pytest.raises(ValueError, match="reserved"):
        Admission(limit=4, reserved=4, metrics=GatewayMetrics())
