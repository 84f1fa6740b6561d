"""Property: over random desks, labels, groups and precedences, the routing plan never puts a
message in the inbox of a desk it is not releasable to, and gives every permitted recipient
exactly one copy. 200 examples x 10 messages = 2,000 routed messages per run."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import codec
from schemas.common import TrafficType
from schemas.desks import NON_COALITION_NATIONS, Desk, DeskRegistry
from schemas.envelope import Envelope
from schemas.kinds.liaison import LiaisonMessage
from schemas.labels import Clearance, Policy, SecurityLabel, levels
from schemas.precedence import Precedence
from schemas.roles import Role
from services.router import route
from services.router.outputs import HEADER_ADDRESSEE_ROLE, HEADER_RECIPIENT
from services.router.state import RouterState

NATIONS = ("USA", "UKR", "GBR", "FRA", "DEU", "POL")
CATEGORIES = ("ATOMAL", "CRYPTO")
NATO_LEVELS = levels(Policy.NATO)
CLEARANCES = tuple(Clearance)
MESSAGES_PER_EXAMPLE = 10
NOW = datetime.now(UTC)


@st.composite
def registries(draw: st.DrawFn) -> DeskRegistry:
    count = draw(st.integers(min_value=2, max_value=9))
    desks = []
    for index in range(count):
        exercise_only = draw(st.booleans()) and draw(st.booleans())
        desks.append(
            Desk(
                id=f"d{index}.desk",
                nation=draw(st.sampled_from(NATIONS)),
                clearance=draw(st.sampled_from(CLEARANCES)),
                roles=frozenset(
                    draw(st.sets(st.sampled_from([Role.COMMISSION, Role.MONITOR, Role.DONOR])))
                ),
                categories=frozenset(draw(st.sets(st.sampled_from(CATEGORIES)))),
                exercise_only=exercise_only,
                exercise_enabled=draw(st.booleans()),
            )
        )
    return DeskRegistry(desks=tuple(desks))


@st.composite
def messages(draw: st.DrawFn, registry: DeskRegistry) -> Envelope:
    originator = draw(st.sampled_from(registry.desks))
    addresses = [d.id for d in registry.desks] + [
        "ALL",
        "COALITION",
        "COMMISSION",
        "ROLE:MONITOR",
        "ROLE:DONOR",
        "zz.unknown",
        *(f"NATION:{n}" for n in NATIONS),
    ]
    chosen = draw(st.lists(st.sampled_from(addresses), min_size=1, max_size=5, unique=True))
    split = draw(st.integers(min_value=1, max_value=len(chosen)))
    primary = draw(st.sampled_from([Precedence.IMMEDIATE, Precedence.PRIORITY, Precedence.ROUTINE]))
    copy = draw(st.sampled_from([p for p in Precedence if p.rank <= primary.rank]))
    label = SecurityLabel(
        policy=Policy.NATO,
        classification=draw(st.sampled_from(NATO_LEVELS)),
        releasable_to=tuple(draw(st.sets(st.sampled_from(NATIONS), min_size=1))),
        restrictive_categories=tuple(draw(st.sets(st.sampled_from(CATEGORIES), max_size=1))),
        created_at=NOW,
    )
    return Envelope(
        message_id=uuid.uuid4(),
        traffic_type=draw(st.sampled_from(list(TrafficType))),
        originator=originator.id,
        action_to=tuple(chosen[:split]),
        info_to=tuple(chosen[split:]),
        primary_precedence=primary,
        copy_precedence=copy,
        label=label,
        subject="property",
        created_at=NOW - timedelta(seconds=1),
        released_at=NOW,
        body=LiaisonMessage(text="x"),
    )


def permitted(desk: Desk, env: Envelope) -> bool:
    """The oracle, written independently of the guard (DOMAIN §4 rule 2)."""
    if env.traffic_type is TrafficType.OPERATION:
        accepts = not desk.exercise_only
    else:
        accepts = desk.exercise_only or desk.exercise_enabled
    return (
        accepts
        and CLEARANCES.index(desk.clearance) >= NATO_LEVELS.index(env.label.classification)
        and desk.nation in env.label.releasable_to
        and set(env.label.restrictive_categories) <= desk.categories
    )


def reached(registry: DeskRegistry, env: Envelope) -> set[str]:
    out: set[str] = set()
    for address in (*env.action_to, *env.info_to):
        explicit = False
        if address == "ALL":
            desks = registry.desks
        elif address == "COALITION":
            desks = tuple(d for d in registry.desks if d.nation not in NON_COALITION_NATIONS)
        elif address == "COMMISSION":
            desks = tuple(d for d in registry.desks if Role.COMMISSION in d.roles)
        elif address.startswith("ROLE:"):
            desks = tuple(d for d in registry.desks if Role(address[5:]) in d.roles)
        elif address.startswith("NATION:"):
            desks = tuple(d for d in registry.desks if d.nation == address[7:])
        else:
            explicit = True
            desks = tuple(d for d in registry.desks if d.id == address)
        out |= {d.id for d in desks if explicit or d.id != env.originator}
    return out


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), registry=registries())
def test_no_leak_and_exactly_one_copy(data: st.DataObject, registry: DeskRegistry) -> None:
    ctx = route.Context(registry=registry, prefix="", router_desk="cell.router", state_partitions=3)
    state = RouterState(timedelta(days=7))
    by_id = {d.id: d for d in registry.desks}
    for _ in range(MESSAGES_PER_EXAMPLE):
        env = data.draw(messages(registry))
        record = SimpleNamespace(
            topic="cell.submit.x",
            partition=0,
            offset=0,
            key=env.originator.encode(),
            value=codec.encode(env),
            headers=codec.headers(env),
        )
        plan = route.plan(record, ctx=ctx, state=state, minimize=[], now=NOW, partition=0)
        copies = [
            dict(o.headers)[HEADER_RECIPIENT].decode()
            for o in plan.outputs
            if HEADER_ADDRESSEE_ROLE in dict(o.headers)
        ]
        for desk_id in copies:
            assert permitted(by_id[desk_id], env), (desk_id, env)
            assert env.originator not in desk_id or desk_id in (*env.action_to, *env.info_to)
        originator = by_id[env.originator]
        if originator.accepts(env.traffic_type):
            expected = sorted(d for d in reached(registry, env) if permitted(by_id[d], env))
            assert sorted(copies) == expected
            assert plan.delivered == len(expected)
        else:
            assert plan.outcome == "rejected"
            assert copies == []
