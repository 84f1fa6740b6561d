"""Desk registry, address expansion, the topic registry and sealing a submission."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from schemas.common import TrafficType
from schemas.desks import Desk, DeskRegistry, RegistryError, load_registry, parse_registry
from schemas.envelope import Envelope, Submission, seal
from schemas.kinds.liaison import LiaisonMessage
from schemas.kinds.tasking import TaskingOrder
from schemas.labels import Classification, Clearance, Policy, SecurityLabel
from schemas.precedence import LANES_HIGH_FIRST, Precedence
from schemas.roles import Role
from schemas.topics import (
    AUDIT,
    DEADLETTER,
    CleanupPolicy,
    KeyRule,
    inbox_nation_prefix,
    inbox_topic,
    registry,
    submit_topic,
)

GOLDEN = Path(__file__).resolve().parents[3] / "schemas" / "golden" / "v1"
NOW = datetime(2026, 3, 14, 13, 12, tzinfo=UTC)
DESKS = DeskRegistry(
    desks=(
        Desk(
            id="ukr.mod",
            nation="UKR",
            clearance=Clearance.SECRET,
            roles=frozenset({Role.REQUESTER}),
        ),
        Desk(
            id="usa.eucom",
            nation="USA",
            clearance=Clearance.TOP_SECRET,
            roles=frozenset({Role.FLASH}),
        ),
        Desk(
            id="fra.commission",
            nation="FRA",
            clearance=Clearance.SECRET,
            roles=frozenset({Role.COMMISSION}),
            token_sha256=("a" * 64,),
        ),
        Desk(id="gbr.training", nation="GBR", clearance=Clearance.RESTRICTED, exercise_only=True),
    )
)


def ids(desks):
    return [desk.id for desk in desks]


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("ALL", ["ukr.mod", "usa.eucom", "fra.commission", "gbr.training"]),
        ("COALITION", ["fra.commission", "gbr.training"]),
        ("COMMISSION", ["fra.commission"]),
        ("NATION:UKR", ["ukr.mod"]),
        ("ROLE:FLASH", ["usa.eucom"]),
        ("usa.eucom", ["usa.eucom"]),
        ("deu.mod", []),
        ("NATION:ITA", []),
    ],
)
def test_address_expansion(address, expected):
    assert ids(DESKS.expand(address)) == expected


def test_lookups():
    assert DESKS.get("ukr.mod").nation == "UKR"
    assert "usa.eucom" in DESKS
    assert DESKS.by_token_sha256("a" * 64).id == "fra.commission"
    assert DESKS.by_token_sha256("b" * 64) is None
    assert DESKS.nations() == ("FRA", "GBR", "UKR", "USA")


def test_exercise_traffic_goes_only_to_exercise_desks():
    training, real = DESKS.get("gbr.training"), DESKS.get("ukr.mod")
    assert not training.accepts(TrafficType.OPERATION)
    assert training.accepts(TrafficType.EXERCISE)
    assert real.accepts(TrafficType.OPERATION)
    assert not real.accepts(TrafficType.DRILL)


def test_registry_file_round_trip_and_unknown_fields(tmp_path):
    path = tmp_path / "desks.json"
    path.write_bytes(msgspec.json.encode(DESKS))
    assert load_registry(path) == DESKS

    path.write_text(
        '{"desks": [{"id": "ukr.mod", "nation": "UKR", "clearance": "SECRET", "role": []}]}'
    )
    with pytest.raises(RegistryError, match=r"unknown field `role`.*\$\.desks\[0\]"):
        load_registry(path)
    with pytest.raises(RegistryError, match="No such file"):
        load_registry(tmp_path / "missing.json")


def test_registry_refuses_duplicate_desks():
    desk = '{"id": "ukr.mod", "nation": "UKR", "clearance": "SECRET"}'
    with pytest.raises(msgspec.ValidationError, match="more than once"):
        parse_registry(f'{{"desks": [{desk}, {desk}]}}'.encode())


def test_topic_registry_names_keys_and_policies():
    specs = registry(DESKS)
    names = [spec.name for spec in specs]
    assert len(names) == len(set(names)) == 15 + 4 * len(DESKS)
    assert (
        names[:4]
        == [submit_topic(p) for p in LANES_HIGH_FIRST]
        == [
            "cell.submit.flash",
            "cell.submit.immediate",
            "cell.submit.priority",
            "cell.submit.routine",
        ]
    )
    by_name = {spec.name: spec for spec in specs}
    assert by_name["cell.submit.flash"].key is KeyRule.ORIGINATOR
    assert by_name["cell.domain.commission"].key is KeyRule.ENTITY
    assert by_name["cell.state.cases"].cleanup_policy is CleanupPolicy.COMPACT
    assert by_name["cell.state.router"].partitions == by_name["cell.submit.flash"].partitions
    assert by_name[AUDIT].retention_ms == -1
    assert DEADLETTER in by_name
    inbox = by_name["cell.inbox.ukr.ukr.mod.flash"]
    assert inbox.key is KeyRule.MESSAGE_ID
    assert inbox.lane is Precedence.FLASH
    assert inbox.name.startswith(inbox_nation_prefix("UKR"))
    assert all(
        spec.replication_factor is None and spec.min_insync_replicas is None for spec in specs
    )


def test_replication_and_prefix():
    specs = registry(DESKS, replication_factor=3, prefix="t.abc.")
    assert all(spec.name.startswith("t.abc.cell.") for spec in specs)
    assert {(s.replication_factor, s.min_insync_replicas) for s in specs} == {(3, 2)}
    assert specs[0].configs()["min.insync.replicas"] == "2"
    assert inbox_topic(DESKS.get("fra.commission"), Precedence.ROUTINE, prefix="t.") == (
        "t.cell.inbox.fra.fra.commission.routine"
    )


def test_topic_names_that_collide_in_kafka_are_refused():
    clash = DeskRegistry(
        desks=(
            Desk(id="ukr.mod", nation="UKR", clearance=Clearance.SECRET),
            Desk(id="ukr_mod", nation="UKR", clearance=Clearance.SECRET),
        )
    )
    with pytest.raises(ValueError, match="collides"):
        registry(clash)


LABEL = SecurityLabel(
    policy=Policy.NATO,
    classification=Classification.NATO_RESTRICTED,
    releasable_to=("USA", "UKR"),
    created_at=NOW,
)


def test_seal_fills_what_the_cell_owns():
    submission = Submission(
        traffic_type=TrafficType.OPERATION,
        action_to=("ukr.mod",),
        primary_precedence=Precedence.IMMEDIATE,
        label=LABEL,
        subject="Coordination call 1500Z",
        ack_required=True,
        body=LiaisonMessage(text="Call at 1500Z on the usual bridge."),
    )

    envelope = seal(submission, "usa.eucom", NOW)

    assert envelope.originator == "usa.eucom"
    assert envelope.released_at == envelope.created_at == NOW
    assert envelope.copy_precedence is Precedence.IMMEDIATE
    assert envelope.ack_by == NOW + timedelta(minutes=30)
    assert isinstance(envelope.message_id, uuid.UUID)
    assert envelope.message_id.version == 4
    assert envelope.dtg == "141312Z MAR 2026"
    assert envelope.kind == "liaison.message.v1"
    keep = uuid.uuid4()
    assert (
        seal(msgspec.structs.replace(submission, message_id=keep), "usa.eucom", NOW).message_id
        == keep
    )


def test_seal_refuses_a_naive_clock():
    submission = Submission(
        traffic_type=TrafficType.OPERATION,
        action_to=("ukr.mod",),
        primary_precedence=Precedence.ROUTINE,
        label=LABEL,
        subject="x",
        body=LiaisonMessage(text="x"),
    )
    with pytest.raises(ValueError, match="timezone-aware"):
        seal(submission, "usa.eucom", datetime(2026, 3, 14))  # noqa: DTZ001 - the point of the test


def test_submission_and_envelope_share_their_fields():
    submission = set(Submission.__struct_fields__)
    envelope = set(Envelope.__struct_fields__)
    assert envelope - submission == {"originator", "released_at"}
    assert submission == envelope - {"originator", "released_at"}


def test_tasking_orders_require_acknowledgement():
    order = msgspec.json.decode((GOLDEN / "tasking.order.v1.json").read_bytes(), type=dict)
    order["ack_required"] = False
    order.pop("ack_by")
    with pytest.raises(msgspec.ValidationError, match="`ack_required` must be set"):
        msgspec.convert(order, Envelope)
    assert TaskingOrder.family == "tasking"
