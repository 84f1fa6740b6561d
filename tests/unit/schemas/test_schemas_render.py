"""Date-time groups, display markings, precedence, addresses and the clearance model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.addresses import AddressKind, parse_address
from schemas.dtg import format_dtg
from schemas.labels import (
    Classification,
    Clearance,
    Policy,
    SecurityLabel,
    classification_rank,
    clearance_permits,
    display_marking,
    levels,
)
from schemas.precedence import LANES_HIGH_FIRST, Precedence

CREATED = datetime(2026, 3, 14, 13, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "dtg"),
    [
        (datetime(2026, 3, 14, 13, 12, 59, tzinfo=UTC), "141312Z MAR 2026"),
        (datetime(2026, 1, 1, 0, 0, tzinfo=UTC), "010000Z JAN 2026"),
        (datetime(2026, 12, 31, 23, 59, tzinfo=UTC), "312359Z DEC 2026"),
        # Kyiv local time (UTC+2) on New Year's Day is still the old year in UTC.
        (datetime(2027, 1, 1, 1, 30, tzinfo=timezone(timedelta(hours=2))), "312330Z DEC 2026"),
    ],
)
def test_dtg_renders_utc(moment, dtg):
    assert format_dtg(moment) == dtg


def test_dtg_refuses_local_time_without_a_zone():
    with pytest.raises(ValueError, match="timezone-aware"):
        format_dtg(datetime(2026, 3, 14, 13, 12))  # noqa: DTZ001 - the point of the test


@given(st.datetimes(timezones=st.just(UTC)))
def test_dtg_shape(moment):
    dtg = format_dtg(moment)
    day, month, year = dtg.split(" ")
    assert len(day) == 7
    assert day.endswith("Z")
    assert int(day[:2]) == moment.day
    assert month == moment.strftime("%b").upper()
    assert int(year) == moment.year


def _label(
    policy: Policy, level: Classification, rel: tuple[str, ...], cats: tuple[str, ...] = ()
) -> SecurityLabel:
    return SecurityLabel(
        policy=policy,
        classification=level,
        releasable_to=rel,
        restrictive_categories=cats,
        created_at=CREATED,
    )


@pytest.mark.parametrize(
    ("label", "marking"),
    [
        (
            _label(Policy.NATO, Classification.NATO_RESTRICTED, ("UKR", "GBR", "USA", "FRA")),
            "NATO RESTRICTED//REL TO USA, FRA, GBR, UKR",
        ),
        (
            _label(Policy.NATO, Classification.NATO_SECRET, ("POL", "DEU"), ("ATOMAL",)),
            "NATO SECRET//ATOMAL//REL TO DEU, POL",
        ),
        (
            _label(Policy.UKR, Classification.SECRET, ("UKR", "USA")),
            "UKR SECRET//REL TO USA, UKR",
        ),
        (
            _label(Policy.COALITION, Classification.COALITION_CONFIDENTIAL, ("CAN",)),
            "COALITION CONFIDENTIAL//REL TO CAN",
        ),
    ],
)
def test_display_marking(label, marking):
    assert display_marking(label) == marking


def test_a_label_needs_a_level_of_its_own_policy():
    with pytest.raises(ValueError, match="not a level of policy GBR"):
        _label(Policy.GBR, Classification.NATO_SECRET, ("GBR",))


def test_a_label_refuses_naive_creation_time():
    with pytest.raises(ValueError, match="time zone"):
        SecurityLabel(
            policy=Policy.NATO,
            classification=Classification.NATO_UNCLASSIFIED,
            releasable_to=("USA",),
            created_at=datetime(2026, 3, 14),  # noqa: DTZ001 - the point of the test
        )


def test_levels_are_ordered_and_every_policy_maps_onto_the_clearance_scale():
    for policy in Policy:
        ranks = [classification_rank(policy, level) for level in levels(policy)]
        assert ranks == sorted(ranks), policy
        assert all(0 <= rank <= Clearance.TOP_SECRET.rank for rank in ranks)


@pytest.mark.parametrize(
    ("clearance", "policy", "level", "permitted"),
    [
        (Clearance.SECRET, Policy.NATO, Classification.NATO_SECRET, True),
        (Clearance.SECRET, Policy.NATO, Classification.COSMIC_TOP_SECRET, False),
        (Clearance.RESTRICTED, Policy.NATO, Classification.NATO_CONFIDENTIAL, False),
        (Clearance.RESTRICTED, Policy.GBR, Classification.OFFICIAL, True),
        (Clearance.CONFIDENTIAL, Policy.UKR, Classification.SECRET, False),
        (Clearance.UNCLASSIFIED, Policy.USA, Classification.UNCLASSIFIED, True),
        (Clearance.TOP_SECRET, Policy.UKR, Classification.OF_SPECIAL_IMPORTANCE, True),
    ],
)
def test_clearance_permits(clearance, policy, level, permitted):
    assert clearance_permits(clearance, _label(policy, level, ("USA",))) is permitted


def test_precedence_properties():
    assert [p.rank for p in LANES_HIGH_FIRST] == [4, 3, 2, 1]
    assert [p.prosign for p in LANES_HIGH_FIRST] == ["Z", "O", "P", "R"]
    assert [p.lane for p in LANES_HIGH_FIRST] == ["flash", "immediate", "priority", "routine"]
    assert Precedence.FLASH.handling_target == timedelta(minutes=10)
    assert Precedence.ROUTINE.handling_target == timedelta(hours=6)
    assert Precedence.from_lane("immediate") is Precedence.IMMEDIATE
    assert Precedence.from_rank(2) is Precedence.PRIORITY
    with pytest.raises(ValueError, match="rank 5"):
        Precedence.from_rank(5)


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("ALL", AddressKind.ALL, None),
        ("COALITION", AddressKind.COALITION, None),
        ("COMMISSION", AddressKind.COMMISSION, None),
        ("NATION:UKR", AddressKind.NATION, "UKR"),
        ("ROLE:FORCE_HQ", AddressKind.ROLE, "FORCE_HQ"),
        ("ukr.mod", AddressKind.DESK, "ukr.mod"),
    ],
)
def test_addresses_parse_and_render(text, kind, value):
    address = parse_address(text)
    assert (address.kind, address.value) == (kind, value)
    assert str(address) == text
    assert address.is_group is (kind is not AddressKind.DESK)


@pytest.mark.parametrize(
    "text", ["All", "NATION:ukr", "ROLE:KING", "UKR.MOD", "ukr.mod\n", "x", ""]
)
def test_non_addresses_are_refused(text):
    with pytest.raises(ValueError, match="not an address"):
        parse_address(text)
