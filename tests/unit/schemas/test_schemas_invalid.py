"""Invalid values are refused at decode, and the error names the field path."""

from __future__ import annotations

import copy
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from msgspec import inspect as mi
from schemas_strategies import all_tags, envelope_raw

from schemas import codec
from schemas.codec import DecodeError
from schemas.envelope import Envelope

ENVELOPE_INFO = mi.type_info(Envelope)


def _violation(info: mi.Type) -> object | None:
    """A value the type refuses on its own (no cross-field rule involved), or None."""
    while isinstance(info, mi.Metadata):
        info = info.type
    if isinstance(info, mi.StrType):
        if info.max_length is not None:
            return "x" * (info.max_length + 1)
        return "\n" if info.pattern is not None or info.min_length else None
    if isinstance(info, mi.IntType | mi.FloatType):
        if info.le is not None:
            return info.le + 1
        return info.ge - 1 if info.ge is not None else "not a number"
    replacements: dict[type, object] = {
        mi.EnumType: "NOT_A_MEMBER",
        mi.UUIDType: "not-a-uuid",
        mi.DateTimeType: "2026-03-14T13:12:00",  # local time without a zone
        mi.DateType: "14 MAR 2026",
        mi.BoolType: "yes",
    }
    return replacements.get(type(info))


def _is_variant(info: mi.Type, value: dict[str, Any]) -> bool:
    if not isinstance(info, mi.StructType):
        return False
    return info.tag_field is None or info.tag == value.get(info.tag_field)


def _leaves(value: Any, info: mi.Type, path: str) -> list[tuple[str, object]]:
    """(path, violating value) for every constrained leaf present in ``value``."""
    while isinstance(info, mi.Metadata):
        info = info.type
    if isinstance(info, mi.StructType) and isinstance(value, dict):
        return [
            leaf
            for field in info.fields
            if field.encode_name in value
            for leaf in _leaves(value[field.encode_name], field.type, f"{path}.{field.encode_name}")
        ]
    if isinstance(info, mi.UnionType):
        return _union_leaves(value, info, path)
    if isinstance(info, mi.VarTupleType | mi.ListType | mi.FrozenSetType) and isinstance(
        value, list
    ):
        found: list[tuple[str, object]] = [(path, [])] if info.min_length else []
        for index, item in enumerate(value):
            found += _leaves(item, info.item_type, f"{path}[{index}]")
        return found
    bad = _violation(info)
    return [] if bad is None else [(path, bad)]


def _union_leaves(value: Any, info: mi.UnionType, path: str) -> list[tuple[str, object]]:
    members = [t for t in info.types if not isinstance(t, mi.NoneType)]
    if isinstance(value, dict):
        struct = next((t for t in members if _is_variant(t, value)), None)
        return [] if struct is None else _leaves(value, struct, path)
    if value is not None and len(members) == 1:
        return _leaves(value, members[0], path)
    return []


def _set(document: dict[str, Any], path: str, value: object) -> None:
    parts = path.removeprefix("$").replace("[", ".[").split(".")[1:]
    target: Any = document
    for part in parts[:-1]:
        target = target[int(part[1:-1])] if part.startswith("[") else target[part]
    last = parts[-1]
    if last.startswith("["):
        target[int(last[1:-1])] = value
    else:
        target[last] = value


@pytest.mark.parametrize("tag", all_tags())
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_constrained_leaf_with_a_bad_value_is_refused_at_its_path(tag, data):
    document = data.draw(envelope_raw(tag))
    path, bad = data.draw(st.sampled_from(_leaves(document, ENVELOPE_INFO, "$")))
    broken = copy.deepcopy(document)
    _set(broken, path, bad)

    with pytest.raises(DecodeError) as caught:
        codec.decode(msgspec.json.encode(broken))

    assert caught.value.path == path, caught.value


SEALED = {
    "message_id": "6f1c9a56-77b4-4a8c-9a0e-5d2f8e3b1c10",
    "traffic_type": "OPERATION",
    "originator": "usa.eucom",
    "action_to": ["ukr.mod"],
    "info_to": ["ROLE:WATCH"],
    "primary_precedence": "PRIORITY",
    "copy_precedence": "ROUTINE",
    "label": {
        "policy": "NATO",
        "classification": "NATO RESTRICTED",
        "releasable_to": ["USA", "UKR"],
        "created_at": "2026-03-14T13:10:00Z",
    },
    "subject": "Route survey results",
    "created_at": "2026-03-14T13:11:00Z",
    "released_at": "2026-03-14T13:12:00Z",
    "body": {"kind": "liaison.message.v1", "text": "Survey attached."},
}
_OBSERVATION = {
    "observation_id": "obs-1",
    "observer_position": {"lat": 47.8, "lon": 35.1},
    "mode": "HEARD",
    "window": {"start": "2026-03-14T10:00:00Z", "end": "2026-03-14T10:05:00Z"},
    "event_type": "EXPLOSION",
    "confidence": {"reliability": "B", "credibility": 2},
}
_REPORT = {
    "kind": "monitoring.report.v1",
    "report_id": "rep-0001",
    "report_type": "SPOT",
    "team": "Team 2",
    "sector": "Orikhiv",
    "period": {"start": "2026-03-14T09:00:00Z", "end": "2026-03-14T12:00:00Z"},
    "observations": [_OBSERVATION],
}


def _with(**changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(SEALED)
    for dotted, value in changes.items():
        _set(document, "$." + dotted.replace("__", "."), value)
    return document


CASES = [
    (_with(subject="x" * 201), "$.subject", "length <= 200"),
    (_with(action_to=[]), "$.action_to", "length >= 1"),
    (_with(action_to=["Ukr Mod"]), "$.action_to[0]", "matching regex"),
    (_with(info_to=["ukr.mod"]), "$.info_to", "action or info"),
    (_with(copy_precedence="FLASH"), "$.copy_precedence", "must not exceed"),
    (_with(created_at="2026-03-14T13:11:00"), "$.created_at", "timezone"),
    (_with(expires_at="2026-03-14T13:00:00Z"), "$.expires_at", "after `created_at`"),
    (_with(ack_by="2026-03-14T15:00:00Z"), "$.ack_by", "`ack_required`"),
    (_with(ack_required=True), "$.ack_by", "required"),
    (_with(originator="ukr.mod\n"), "$.originator", "matching regex"),
    (_with(label__classification="SECRET"), "$.label.classification", "not a level of policy NATO"),
    (_with(label__classification="TOP SECRET!"), "$.label.classification", "Invalid enum value"),
    (_with(label__policy="EU"), "$.label.policy", "Invalid enum value"),
    (_with(label__releasable_to=[]), "$.label.releasable_to", "length >= 1"),
    (_with(label__releasable_to=["USA", "USA"]), "$.label.releasable_to", "more than once"),
    (_with(body={"kind": "liaison.message.v9", "text": "x"}), "$.body.kind", "Invalid value"),
    (_with(body=_REPORT | {"observations": []}), "$.body.observations", "must not be empty"),
    (
        _with(
            body=_REPORT
            | {"observations": [_OBSERVATION | {"observer_position": {"lat": 91.0, "lon": 0.0}}]}
        ),
        "$.body.observations[0].observer_position.lat",
        "<= 90.0",
    ),
    (
        _with(
            body=_REPORT
            | {
                "observations": [
                    _OBSERVATION
                    | {"window": {"start": "2026-03-14T10:00:00Z", "end": "2026-03-14T09:00:00Z"}}
                ]
            }
        ),
        "$.body.observations[0].window.end",
        "before `start`",
    ),
    (
        _with(
            body={
                "kind": "alert.attack.v1",
                "alert_id": "alert-01",
                "attack_type": "MISSILE",
                "detected_at": "2026-03-14T13:00:00Z",
                "description": "Salvo",
                "affected_areas": [{"name": "Kyiv"}],
            }
        ),
        "$.primary_precedence",
        "must be FLASH",
    ),
    (
        _with(
            body={
                "kind": "notify.ack.v1",
                "subject_message_id": SEALED["message_id"],
                "response": "CANNOT_COMPLY",
                "acknowledged_at": "2026-03-14T13:00:00Z",
            }
        ),
        "$.body.reason",
        "CANNOT_COMPLY",
    ),
]


@pytest.mark.parametrize(("document", "path", "fragment"), CASES, ids=[c[1] for c in CASES])
def test_rule_violations_name_the_field(document, path, fragment):
    with pytest.raises(DecodeError) as caught:
        codec.decode(msgspec.json.encode(document))

    assert caught.value.path == path
    assert fragment in caught.value.message
    assert str(caught.value).endswith(f" - at `{path}`")


def test_the_valid_baseline_decodes():
    assert codec.decode(msgspec.json.encode(SEALED)).dtg == "141312Z MAR 2026"


def test_malformed_json_is_a_decode_error_at_the_root():
    with pytest.raises(DecodeError) as caught:
        codec.decode(b'{"message_id": ')
    assert caught.value.path == "$"
