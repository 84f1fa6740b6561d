"""An attack alert's acknowledgements (pure plan + sweep, demo registry): every desk it reached
is awaited except the cell's services, desks without FLASH may answer it at FLASH, and the
silent ones are escalated to WATCH by name."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import domain_builders as build
import msgspec

from schemas import codec
from schemas.body import Body
from schemas.common import Area
from schemas.envelope import Envelope
from schemas.kinds.alert import AttackAlert, AttackType
from schemas.kinds.liaison import LiaisonMessage
from schemas.kinds.notifications import AckResponse, Escalation, OperationalAck
from schemas.precedence import Precedence
from schemas.roles import Role
from services.monitoring import scenario
from services.router import acks, route
from services.router.state import RouterState

REGISTRY = build.DEMO
CTX = route.Context(registry=REGISTRY, prefix="p.", router_desk="cell.router", state_partitions=3)
NOW = datetime(2026, 3, 14, 13, 12, tzinfo=UTC)
ALL_NATIONS = ("USA", "UKR", "FRA", "GBR", "DEU", "POL", "ITA", "CAN", "NLD")
LABEL = scenario.label(NOW, ALL_NATIONS)


def _envelope(
    originator: str,
    body: Body,
    *,
    to: tuple[str, ...],
    in_reply_to: uuid.UUID | None = None,
    ack_by: datetime | None = None,
) -> Envelope:
    return build.envelope(
        originator,
        body,
        to=to,
        at=NOW,
        precedence=Precedence.FLASH,
        label=LABEL,
        ack_by=ack_by,
        in_reply_to=in_reply_to,
    )


def _plan(envelope: Envelope, state: RouterState) -> route.Plan:
    record = SimpleNamespace(
        topic="p.cell.submit.flash",
        partition=0,
        offset=0,
        key=envelope.originator.encode(),
        value=codec.encode(envelope),
        headers=codec.headers(envelope),
    )
    return route.plan(record, ctx=CTX, state=state, minimize=[], now=NOW, partition=0)


def _alert() -> Envelope:
    body = AttackAlert(
        alert_id="alert-0001",
        attack_type=AttackType.MISSILE,
        detected_at=NOW,
        affected_areas=(Area(name="Kharkiv oblast"),),
        description="Massed missile strike",
    )
    return _envelope("cell.watch", body, to=("ALL",), ack_by=NOW + timedelta(minutes=5))


def _ack(desk: str, alert: Envelope) -> Envelope:
    body = OperationalAck(
        subject_message_id=alert.message_id,
        response=AckResponse.ACKNOWLEDGED,
        acknowledged_at=NOW,
    )
    return _envelope(desk, body, to=(alert.originator,), in_reply_to=alert.message_id)


def test_alert_awaits_every_reached_desk_but_the_cell_services() -> None:
    state = RouterState(timedelta(days=7))
    alert = _alert()
    assert _plan(alert, state).outcome == "routed"
    ((open_ack, _),) = state.open_acks.values()
    services = {d.id for d in REGISTRY.with_role(Role.SERVICE)}
    operational = {d.id for d in REGISTRY.desks if not d.exercise_only}
    assert set(open_ack.awaiting) == operational - services - {"cell.watch"}
    assert "exr.training" not in open_ack.awaiting  # never delivered: exercise only


def test_desk_without_flash_answers_a_flash_alert_but_may_not_originate_flash() -> None:
    state = RouterState(timedelta(days=7))
    alert = _alert()
    _plan(alert, state)
    ukr = REGISTRY.get("ukr.mod")
    assert ukr is not None
    assert Role.FLASH not in ukr.roles
    assert _plan(_ack("ukr.mod", alert), state).outcome == "routed"
    assert "ukr.mod" in state.acked[alert.message_id]
    liaison = _envelope("ukr.mod", LiaisonMessage(text="not a reply"), to=("cell.watch",))
    assert _plan(liaison, state).outcome == "rejected"
    unlinked = msgspec.structs.replace(_ack("ukr.mod", alert), in_reply_to=None)
    assert _plan(unlinked, state).outcome == "rejected"  # an ack names what it answers


def test_silent_desks_are_escalated_to_watch_by_name_once() -> None:
    state = RouterState(timedelta(days=7))
    alert = _alert()
    _plan(alert, state)
    ((open_ack, _),) = state.open_acks.values()
    silent = {"nld.def", "can.cjoc"}
    for desk in open_ack.awaiting:
        if desk not in silent:
            _plan(_ack(desk, alert), state)
    late = NOW + timedelta(minutes=6)
    assert not acks.sweep(state, CTX, NOW, {0, 1, 2})  # not due yet
    sweeps = acks.sweep(state, CTX, late, {0, 1, 2})
    escalations = [
        codec.decode(o.value or b"")
        for part in sweeps.values()
        for o in part.outputs
        if ".cell.inbox." in o.topic
    ]
    notices = [e for e in escalations if isinstance(e.body, Escalation)]
    assert notices
    assert {e.originator for e in notices} == {"cell.router"}
    assert all(set(e.body.outstanding) == silent for e in notices if isinstance(e.body, Escalation))
    assert set(notices[0].action_to) == {"cell.watch"}
    for part in sweeps.values():
        for write in part.state:
            state.apply(write.partition, write.key, write.value)
    assert not acks.sweep(state, CTX, late + timedelta(seconds=1), {0, 1, 2})  # once only
