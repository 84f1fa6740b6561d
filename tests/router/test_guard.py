"""Unit tests of the pure guard, expansion and routing plan (no broker)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from router_helpers import REGISTRY, envelope, label

from schemas import codec
from schemas.audit import Decision, decode_audit
from schemas.common import TrafficType
from schemas.kinds.alert import AttackAlert, AttackType
from schemas.kinds.control import Minimize, MinimizeStatus
from schemas.kinds.notifications import AddresseeRole, NonDeliveryReason
from schemas.labels import Classification
from schemas.precedence import Precedence
from services.router import guard, reports, route
from services.router.addressing import expand
from services.router.state import RouterState

CTX = route.Context(registry=REGISTRY, prefix="p.", router_desk="cell.router", state_partitions=3)


def _record(env, value=None):
    raw = codec.encode(env) if value is None else value
    return SimpleNamespace(
        topic="p.cell.submit.routine",
        partition=0,
        offset=0,
        key=b"usa.eucom",
        value=raw,
        headers=codec.headers(env),
    )


def _plan(env, state=None, minimize=(), value=None):
    return route.plan(
        _record(env, value),
        ctx=CTX,
        state=state or RouterState(timedelta(days=7)),
        minimize=list(minimize),
        now=datetime.now(UTC),
        partition=0,
    )


def _copies(plan):
    return sorted(
        dict(o.headers)["cell-recipient"].decode()
        for o in plan.outputs
        if ".cell.inbox." in o.topic
        and o.value is not None
        and o.key
        and dict(o.headers).get("cell-addressee-role")
    )


def test_group_expansion_excludes_originator_and_action_wins() -> None:
    env = envelope(
        "usa.eucom",
        ["COALITION"],
        info_to=["ALL"],
        precedence=Precedence.PRIORITY,
        copy_precedence=Precedence.ROUTINE,
    )
    result = expand(env, REGISTRY)
    roles = {r.desk_id: (r.role, r.precedence) for r in result.recipients}
    assert "usa.eucom" not in roles
    assert roles["gbr.cell"] == (AddresseeRole.ACTION, Precedence.PRIORITY)
    assert roles["ukr.mod"] == (AddresseeRole.INFO, Precedence.ROUTINE)
    explicit = expand(envelope("usa.eucom", ["usa.eucom", "NATION:ITA", "xyz.none"]), REGISTRY)
    assert [r.desk_id for r in explicit.recipients] == ["usa.eucom"]
    assert explicit.unresolved == ("NATION:ITA", "xyz.none")


@pytest.mark.parametrize(
    ("desk", "env_kwargs", "reason"),
    [
        (
            "deu.cell",
            {"label": label("DEU", classification=Classification.NATO_SECRET)},
            NonDeliveryReason.CLEARANCE_INSUFFICIENT,
        ),
        ("fra.cell", {"rel_to": ("GBR",)}, NonDeliveryReason.LABEL_NOT_RELEASABLE),
        ("pol.train", {}, NonDeliveryReason.EXERCISE_ONLY),
        (
            "gbr.cell",
            {"traffic_type": TrafficType.EXERCISE},
            NonDeliveryReason.NOT_EXERCISE_ENABLED,
        ),
        (
            "gbr.cell",
            {"expires_at": datetime.now(UTC) - timedelta(microseconds=1)},
            NonDeliveryReason.EXPIRED,
        ),
    ],
)
def test_recipient_refusals(desk, env_kwargs, reason) -> None:
    env_kwargs = dict(env_kwargs)
    if "expires_at" in env_kwargs:
        env = envelope("usa.eucom", [desk])
        env = type(env)(
            **{
                **{f: getattr(env, f) for f in env.__struct_fields__},
                "created_at": env_kwargs["expires_at"] - timedelta(seconds=5),
                "expires_at": env_kwargs["expires_at"],
            }
        )
    else:
        env = envelope("usa.eucom", [desk], **env_kwargs)
    target = REGISTRY.get(desk)
    assert target is not None
    assert guard.check_recipient(env, target, Precedence.ROUTINE, datetime.now(UTC)) is reason


def test_category_and_minimize() -> None:
    categorised = label("GBR")
    categorised = type(categorised)(
        policy=categorised.policy,
        classification=categorised.classification,
        releasable_to=("GBR",),
        restrictive_categories=("ATOMAL",),
        created_at=categorised.created_at,
    )
    gbr = REGISTRY.get("gbr.cell")
    assert gbr is not None
    env = envelope("usa.eucom", ["gbr.cell"], label=categorised)
    assert guard.check_recipient(env, gbr, Precedence.ROUTINE, datetime.now(UTC)) is (
        NonDeliveryReason.CATEGORY_NOT_HELD
    )
    rule = guard.MinimizeRule(
        minimize_id="m1", scope=frozenset({"gbr.cell"}), threshold=Precedence.IMMEDIATE
    )
    plain = envelope("usa.eucom", ["gbr.cell"])
    assert guard.check_recipient(plain, gbr, Precedence.ROUTINE, datetime.now(UTC), [rule]) is (
        NonDeliveryReason.MINIMIZE
    )
    considered = envelope("usa.eucom", ["gbr.cell"], minimize_considered=True)
    assert (
        guard.check_recipient(considered, gbr, Precedence.ROUTINE, datetime.now(UTC), [rule])
        is None
    )
    assert (
        guard.check_recipient(plain, gbr, Precedence.IMMEDIATE, datetime.now(UTC), [rule]) is None
    )


def test_originator_rights() -> None:
    desks = {d.id: d for d in REGISTRY.desks}
    flash = envelope("gbr.cell", ["fra.cell"], precedence=Precedence.FLASH)
    assert (
        guard.check_originator(flash, desks["gbr.cell"])
        is NonDeliveryReason.PRECEDENCE_NOT_AUTHORISED
    )
    alert = AttackAlert(
        alert_id="a-1",
        attack_type=AttackType.MISSILE,
        detected_at=datetime.now(UTC),
        affected_areas=("Kharkiv",),
        description="incoming",
    )
    from_usa = envelope("usa.eucom", ["ALL"], precedence=Precedence.FLASH, body=alert)
    assert (
        guard.check_originator(from_usa, desks["usa.eucom"])
        is NonDeliveryReason.ORIGINATOR_NOT_AUTHORISED
    )
    from_watch = envelope("cell.watch", ["ALL"], precedence=Precedence.FLASH, body=alert)
    assert guard.check_originator(from_watch, desks["cell.watch"]) is None
    assert guard.check_originator(flash, None) is NonDeliveryReason.ORIGINATOR_NOT_AUTHORISED


def test_only_the_cell_services_originate_summaries() -> None:
    golden = Path(codec.__file__).parent / "golden" / "v1" / "monitoring.summary.v1.json"
    summary = codec.decode(golden.read_bytes()).body
    desks = {d.id: d for d in REGISTRY.desks}
    forged = envelope("cell.watch", ["fra.cell"], body=summary)
    assert (
        guard.check_originator(forged, desks["cell.watch"])
        is NonDeliveryReason.ORIGINATOR_NOT_AUTHORISED
    )


def test_rejected_message_reports_every_addressee_and_audits_once() -> None:
    env = envelope("gbr.cell", ["fra.cell"], info_to=["ALL"], precedence=Precedence.FLASH)
    plan = _plan(env)
    assert plan.outcome == "rejected"
    reports = [
        codec.decode(o.value).body
        for o in plan.outputs
        if o.topic.endswith(".routine") or o.topic.endswith(".flash")
    ]
    assert sorted(r.recipient for r in reports) == ["ALL", "fra.cell"]
    audits = [decode_audit(o.value) for o in plan.outputs if o.topic == "p.cell.audit"]
    assert [(a.decision, a.reason) for a in audits] == [
        (Decision.REJECTED, NonDeliveryReason.PRECEDENCE_NOT_AUTHORISED)
    ]


def test_duplicate_within_state_and_minimize_state() -> None:
    state = RouterState(timedelta(days=7))
    env = envelope("usa.eucom", ["gbr.cell"])
    assert _plan(env, state).outcome == "routed"
    again = _plan(env, state)
    assert again.outcome == "duplicate"
    assert [decode_audit(o.value).decision for o in again.outputs] == [Decision.DUPLICATE]
    imposed = Minimize(minimize_id="m-1", status=MinimizeStatus.IMPOSED, scope=("ALL",), reason="x")
    _plan(envelope("cell.watch", ["ALL"], body=imposed), state)
    assert set(state.minimize) == {"m-1"}
    lifted = Minimize(minimize_id="m-1", status=MinimizeStatus.LIFTED, scope=("ALL",), reason="x")
    _plan(envelope("cell.watch", ["ALL"], body=lifted), state)
    assert state.minimize == {}


def test_poison_is_dead_lettered_with_original_bytes() -> None:
    env = envelope("usa.eucom", ["gbr.cell"], message_id=uuid.uuid4())
    plan = _plan(env, value=b"\xff not json")
    assert plan.outcome == "dead_lettered"
    letter = plan.outputs[0]
    assert letter.topic == "p.cell.deadletter"
    assert letter.value == b"\xff not json"
    assert dict(letter.headers)["dlq-reason"] == b"undecodable"
    assert decode_audit(plan.outputs[1].value).decision is Decision.DEAD_LETTERED


def test_report_ids_are_the_uuid5_of_what_they_report_on():
    """Retried transactions must produce the very same reports: the id is uuid5, unchanged."""
    subject = uuid.uuid4()
    for what, recipient in (("delivery", "ukr.mod"), ("non_delivery", "ROLE:WATCH")):
        expected = uuid.uuid5(reports._NAMESPACE, f"{subject}:{what}:{recipient}")
        assert reports.report_id(subject, what, recipient) == expected
    assert reports.report_id(subject, "delivery", "a") != reports.report_id(subject, "x", "a")
