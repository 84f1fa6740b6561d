"""The decode fast paths accept and refuse exactly what the rules they shortcut do.

``releasable_to`` items are checked by ``require_nations`` (one pass over the list) rather
than one regex per item; envelope originators and recipients by ``KnownMatches`` (a set of
values that matched before); label markings and addressee lists by ``KnownValid`` (the
values every rule accepted before); the strict walk by compiled checkers; timestamps already in
UTC skip normalisation; uniqueness and recipient checks test the common case in C. Each
must keep the rule and the field path.
"""

from __future__ import annotations

import copy
import re
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from msgspec import inspect as mi
from schemas_strategies import all_tags, envelope_raw

from schemas import codec, jsonschema
from schemas.codec import DecodeError
from schemas.common import NATION_PATTERN, KnownMatches, KnownValid, TimeWindow
from schemas.dtg import format_dtg
from schemas.envelope import ADDRESSEES, Envelope, new_message_id
from schemas.labels import MARKINGS, Classification, Policy, SecurityLabel, levels
from schemas.strict import find_unknown_field

NATION = re.compile(NATION_PATTERN)
ENVELOPE_INFO = mi.type_info(Envelope)
BASE: dict[str, Any] = {
    "message_id": "6f1c9a56-77b4-4a8c-9a0e-5d2f8e3b1c10",
    "traffic_type": "OPERATION",
    "originator": "usa.eucom",
    "action_to": ["ukr.mod"],
    "info_to": ["ROLE:WATCH", "fra.ema"],
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
# Letters, digits, case, look-alikes and line ends: what a per-item regex tells apart.
# Fullwidth A, Greek Alpha, titlecase DZ, the ff ligature: upper-case or letters outside ASCII.
_CHARS = st.sampled_from(
    [*"AZUSKRaz09 _-\n\r\t", "\u00c9", "\u00df", "\uff21", "\u0391", "\u01c5", "\ufb00"]
)
_ITEMS = st.text(_CHARS, min_size=3, max_size=3)


def _decode(document: dict[str, Any]) -> Envelope:
    return codec.decode(msgspec.json.encode(document))


def _with_nations(nations: list[str]) -> dict[str, Any]:
    document = copy.deepcopy(BASE)
    document["label"]["releasable_to"] = nations
    return document


@settings(max_examples=300, deadline=None)
@given(nations=st.lists(st.one_of(_ITEMS, st.sampled_from(["USA", "UKR", "FRA"])), min_size=1))
def test_listed_nations_are_refused_exactly_where_the_pattern_refuses(nations):
    document = _with_nations(list(dict.fromkeys(nations)))  # uniqueness is another rule
    bad = [i for i, n in enumerate(document["label"]["releasable_to"]) if not NATION.search(n)]

    if not bad:
        assert _decode(document).label.releasable_to == tuple(document["label"]["releasable_to"])
        return
    with pytest.raises(DecodeError) as caught:
        _decode(document)
    assert caught.value.path == f"$.label.releasable_to[{bad[0]}]"
    assert "matching regex" in caught.value.message


@pytest.mark.parametrize(
    ("nations", "path", "fragment"),
    [
        (["USA", "ukr"], "$.label.releasable_to[1]", "matching regex"),
        (["US\n"], "$.label.releasable_to[0]", "matching regex"),
        (["USA", "GB"], "$.label.releasable_to[1]", "length >= 3"),
        (["USA", "GBRR"], "$.label.releasable_to[1]", "length <= 3"),
        (["UKR", "USA", "UKR"], "$.label.releasable_to", "more than once"),
    ],
)
def test_listed_nation_errors_name_the_item(nations, path, fragment):
    with pytest.raises(DecodeError) as caught:
        _decode(_with_nations(nations))
    assert caught.value.path == path
    assert fragment in caught.value.message


def test_the_exported_schema_keeps_the_nation_pattern():
    validator = Draft202012Validator(jsonschema.envelope_document())
    assert validator.is_valid(_with_nations(["USA", "UKR"]))
    assert not validator.is_valid(_with_nations(["USA", "ukr"]))
    assert not validator.is_valid(_with_nations(["US\n"]))


def test_offsets_are_still_normalised_to_utc():
    document = copy.deepcopy(BASE)
    document["released_at"] = "2026-03-14T15:12:00+02:00"
    document["label"]["created_at"] = "2026-03-14T15:10:00+02:00"
    document["body"] = {
        "kind": "tasking.sitrep.v1",
        "unit": "1 Bn",
        "nation": "FRA",
        "period": {"start": "2026-03-14T10:00:00-05:00", "end": "2026-03-14T16:00:00Z"},
        "readiness": "GREEN",
        "location": {"lat": 47.8, "lon": 35.1},
        "activity": "Patrols",
    }

    envelope = _decode(document)

    assert envelope.released_at == datetime(2026, 3, 14, 13, 12, tzinfo=UTC)
    assert envelope.released_at.tzinfo is UTC
    assert envelope.label.created_at.tzinfo is UTC
    assert envelope.body.period.start == datetime(2026, 3, 14, 15, 0, tzinfo=UTC)  # type: ignore[attr-defined]
    assert envelope.body.period.start.tzinfo is UTC  # type: ignore[attr-defined]


def test_python_built_structs_still_refuse_naive_and_normalise_aware_times():
    with pytest.raises(ValueError, match="`start` must carry a time zone"):
        TimeWindow(
            start=datetime(2026, 3, 14, 10, 0),  # noqa: DTZ001 - naive on purpose
            end=datetime(2026, 3, 14, 11, 0, tzinfo=UTC),
        )
    kyiv = timezone(timedelta(hours=2))
    window = TimeWindow(
        start=datetime(2026, 3, 14, 12, 0, tzinfo=kyiv),
        end=datetime(2026, 3, 14, 11, 0, tzinfo=UTC),
    )
    assert window.start == datetime(2026, 3, 14, 10, 0, tzinfo=UTC)
    assert window.start.tzinfo is UTC
    label = SecurityLabel(
        policy=Policy.NATO,
        classification=Classification.NATO_RESTRICTED,
        releasable_to=("USA",),
        created_at=datetime(2026, 3, 14, 12, 0, tzinfo=kyiv),
    )
    assert label.created_at.tzinfo is UTC


@pytest.mark.parametrize(
    ("field", "value", "path", "fragment"),
    [
        ("info_to", ["ukr.mod"], "$.info_to", "action or info"),
        ("action_to", ["ukr.mod", "ukr.mod"], "$.action_to", "action or info"),
        ("in_reply_to", BASE["message_id"], "$.in_reply_to", "the message itself"),
        ("supersedes", BASE["message_id"], "$.supersedes", "the message itself"),
    ],
)
def test_shortcut_envelope_rules_still_refuse(field, value, path, fragment):
    document = copy.deepcopy(BASE)
    document[field] = value
    with pytest.raises(DecodeError) as caught:
        _decode(document)
    assert caught.value.path == path
    assert fragment in caught.value.message


def _objects(value: Any, path: str = "$") -> list[tuple[str, dict[str, Any]]]:
    """(path, object) for every JSON object in ``value``: each one is a struct."""
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(value, dict):
        found.append((path, value))
        for key, item in value.items():
            found += _objects(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _objects(item, f"{path}[{index}]")
    return found


@pytest.mark.parametrize("tag", all_tags())
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_compiled_walker_finds_an_unknown_key_in_any_object(tag, data):
    document = data.draw(envelope_raw(tag))
    assert find_unknown_field(document, ENVELOPE_INFO) is None
    path, target = data.draw(st.sampled_from(_objects(document)))
    target["zz_unknown"] = True

    assert find_unknown_field(document, ENVELOPE_INFO) == f"{path}.zz_unknown"


@pytest.mark.parametrize(
    ("field", "value", "path"),
    [
        ("action_to", ["ukr.mod", "Ukr Mod"], "$.action_to[1]"),
        ("info_to", ["ROLE:WATCH", "ROLE:NOBODY"], "$.info_to[1]"),
        ("info_to", ["ukr.mod\n"], "$.info_to[0]"),
        ("originator", "usa.eucom\n", "$.originator"),
        ("originator", "USA.EUCOM", "$.originator"),
    ],
)
def test_remembered_patterns_still_refuse_with_the_path(field, value, path):
    _decode(BASE)  # the valid addresses are now remembered
    document = copy.deepcopy(BASE)
    document[field] = value
    with pytest.raises(DecodeError) as caught:
        _decode(document)
    assert caught.value.path == path
    assert "matching regex" in caught.value.message


def test_known_matches_remember_only_matches_and_only_up_to_the_limit():
    known = KnownMatches(NATION_PATTERN, limit=2)
    known.check_items("nations", ("USA", "UKR", "FRA"))
    assert known.known == {"USA", "UKR"}
    with pytest.raises(ValueError, match=r"`nations\[1\]` is not a `str` matching regex"):
        known.check_items("nations", ("FRA", "fra"))
    with pytest.raises(ValueError, match="`nation` is not"):
        known.check("nation", "USA\n")
    assert known.known == {"USA", "UKR"}


def test_exported_schemas_keep_the_remembered_patterns():
    validator = Draft202012Validator(jsonschema.envelope_document())
    assert validator.is_valid(BASE)
    for field, value in [("originator", "USA.EUCOM"), ("action_to", ["Ukr Mod"])]:
        document = copy.deepcopy(BASE)
        document[field] = value
        assert not validator.is_valid(document), field


@settings(max_examples=200, deadline=None)
@given(
    nations=st.lists(st.sampled_from(["USA", "UKR", "FRA", "usa", "US\n"]), min_size=1),
    policy=st.sampled_from(list(Policy)),
    classification=st.sampled_from(list(Classification)),
    categories=st.lists(st.sampled_from(["ATOMAL", "CRYPTO"]), max_size=3),
)
def test_remembered_markings_decide_exactly_as_the_rules(
    nations, policy, classification, categories
):
    def label() -> SecurityLabel:
        return SecurityLabel(
            policy=policy,
            classification=classification,
            releasable_to=tuple(nations),
            restrictive_categories=tuple(categories),
            created_at=datetime(2026, 3, 14, tzinfo=UTC),
        )

    valid = (
        classification in levels(policy)
        and all(NATION.search(n) for n in nations)
        and len(set(nations)) == len(nations)
        and len(set(categories)) == len(categories)
    )
    for _ in range(2):  # the second time, a valid marking is remembered
        if valid:
            assert label().releasable_to == tuple(nations)
        else:
            with pytest.raises(ValueError, match=r"^`(classification|releasable_to|restrictive)"):
                label()
    marking = (policy, classification, tuple(nations), tuple(categories))
    assert (marking in MARKINGS.values) == valid


@pytest.mark.parametrize(
    ("action_to", "info_to", "path", "fragment"),
    [
        (["ukr.mod"], ["ukr.mod"], "$.info_to", "action or info"),
        (["ukr.mod", "Ukr Mod"], [], "$.action_to[1]", "matching regex"),
        (["ukr.mod"], ["ROLE:WATCH", "ROLE:WATCH"], "$.info_to", "action or info"),
    ],
)
def test_remembered_addressees_still_refuse_other_lists(action_to, info_to, path, fragment):
    for remembered in (["ukr.mod"], ["ukr.mod", "ROLE:WATCH"]):
        document = copy.deepcopy(BASE)
        document["action_to"], document["info_to"] = remembered[:1], remembered[1:]
        _decode(document)
    document = copy.deepcopy(BASE)
    document["action_to"], document["info_to"] = action_to, info_to
    for _ in range(2):  # a refused list is never remembered
        with pytest.raises(DecodeError) as caught:
            _decode(document)
        assert caught.value.path == path
        assert fragment in caught.value.message
    assert (tuple(action_to), tuple(info_to)) not in ADDRESSEES.values


def test_known_valid_remembers_up_to_its_limit():
    known = KnownValid(limit=1)
    known.remember(("USA",))
    known.remember(("UKR",))
    assert known.values == {("USA",)}


def test_minted_message_ids_are_random_version_4_uuids():
    ids = [new_message_id() for _ in range(1000)]
    assert len(set(ids)) == len(ids)
    assert all(i.version == 4 and i.variant == uuid.RFC_4122 for i in ids)
    assert all(uuid.UUID(str(i)) == i for i in ids[:10])
    assert len({i.int >> 76 & 0xF for i in ids}) == 1  # the version nibble never varies
    assert len({i.int & 0xFFFF for i in ids}) > 900  # the random bits do


def test_a_cached_dtg_is_the_dtg_of_the_instant_whatever_its_zone():
    kyiv = timezone(timedelta(hours=2))
    moment = datetime(2026, 3, 14, 23, 30, tzinfo=UTC)
    assert format_dtg(moment) == "142330Z MAR 2026"
    assert format_dtg(moment.astimezone(kyiv)) == "142330Z MAR 2026"
    assert format_dtg(datetime(2026, 3, 15, 1, 30, tzinfo=kyiv)) == "142330Z MAR 2026"
    with pytest.raises(ValueError, match="timezone-aware"):
        format_dtg(moment.replace(tzinfo=None))
