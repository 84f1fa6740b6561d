"""The gateway edge refuses undeclared fields anywhere; Kafka consumers tolerate them."""

from __future__ import annotations

import copy
from typing import Any

import msgspec
import pytest

from schemas import codec
from schemas.codec import DecodeError, MalformedJson
from schemas.envelope import Submission
from schemas.kinds.support_actions import RequestAction as SupportActionKind
from schemas.strict import strict_twin

SUBMISSION: dict[str, Any] = {
    "traffic_type": "OPERATION",
    "action_to": ["fra.forcehq"],
    "primary_precedence": "IMMEDIATE",
    "label": {
        "policy": "NATO",
        "classification": "NATO CONFIDENTIAL",
        "releasable_to": ["FRA", "GBR", "USA"],
        "created_at": "2026-03-14T13:10:00+01:00",
    },
    "subject": "CANNOT COMPLY: OPORD 004 T2",
    "ack_required": False,
    "body": {
        "kind": "support.action.v1",
        "request_id": "req-ukr-2026-0117",
        "command": {
            "action": "CONFIRM_DELIVERY",
            "consignment_id": "cons-deu-2026-0009",
            "received": [{"line_no": 1, "quantity": 16}],
        },
    },
}


def _plus(path: list[str | int], name: str = "is_admin") -> bytes:
    document = copy.deepcopy(SUBMISSION)
    target: Any = document
    for step in path:
        target = target[step]
    target[name] = True
    return msgspec.json.encode(document)


def test_a_valid_submission_decodes_and_normalises_time_to_utc():
    submission = codec.decode_submission_strict(msgspec.json.encode(SUBMISSION))
    assert submission.label.created_at.isoformat() == "2026-03-14T12:10:00+00:00"
    assert submission.message_id is None


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ([], "$.is_admin"),
        (["label"], "$.label.is_admin"),
        (["body"], "$.body.is_admin"),
        (["body", "command"], "$.body.command.is_admin"),
        (["body", "command", "received", 0], "$.body.command.received[0].is_admin"),
    ],
)
def test_unknown_fields_are_refused_with_their_path(path, expected):
    with pytest.raises(DecodeError) as caught:
        codec.decode_submission_strict(_plus(path))
    assert caught.value.path == expected
    assert caught.value.message == "Object contains unknown field `is_admin`"


def test_the_originator_cannot_be_posted():
    with pytest.raises(DecodeError) as caught:
        codec.decode_submission_strict(_plus([], "originator"))
    assert caught.value.path == "$.originator"


def test_the_tolerant_decoder_ignores_what_the_strict_one_refuses():
    assert codec.decode_submission(_plus(["body", "command"])) == codec.decode_submission_strict(
        msgspec.json.encode(SUBMISSION)
    )


def test_strict_decoding_still_validates_values():
    document = copy.deepcopy(SUBMISSION)
    document["body"]["command"]["received"][0]["quantity"] = 0
    with pytest.raises(DecodeError) as caught:
        codec.decode_submission_strict(msgspec.json.encode(document))
    assert caught.value.path == "$.body.command.received[0].quantity"


def test_a_non_object_submission_is_refused():
    with pytest.raises(DecodeError) as caught:
        codec.decode_submission_strict(b"[1, 2]")
    assert caught.value.path == "$"
    assert "Expected `object`" in caught.value.message


def test_strict_twins_are_the_real_classes_for_every_reader():
    wire = msgspec.json.encode(SUBMISSION)
    strict = codec.decode_submission_strict(wire)
    tolerant = codec.decode_submission(wire)
    assert isinstance(strict, Submission)
    assert isinstance(strict.body, SupportActionKind)
    assert isinstance(strict.body.command.received[0], type(tolerant.body.command.received[0]))
    assert repr(strict) == repr(tolerant)
    assert codec.encode_submission(strict) == codec.encode_submission(tolerant)
    assert strict == tolerant
    assert tolerant == strict
    assert not strict != tolerant  # noqa: SIM202 - __ne__ is what is tested
    assert hash(strict.label) == hash(tolerant.label)
    assert hash(strict.body) == hash(tolerant.body)
    assert strict.body != tolerant.label


def test_a_twin_refuses_unknown_fields_in_the_same_pass_as_the_real_rules():
    twin = strict_twin(Submission)
    with pytest.raises(msgspec.ValidationError, match=r"unknown field `is_admin` - at `\$.label`"):
        msgspec.json.decode(_plus(["label"]), type=twin)
    document = copy.deepcopy(SUBMISSION)
    document["label"]["releasable_to"] = ["FRA", "FRA"]
    with pytest.raises(msgspec.ValidationError, match="more than once"):
        msgspec.json.decode(msgspec.json.encode(document), type=twin)


def test_an_unknown_field_is_reported_before_an_earlier_invalid_value():
    document = copy.deepcopy(SUBMISSION)
    document["traffic_type"] = "NOT_A_TYPE"  # first in the document
    document["body"]["command"]["is_admin"] = True
    with pytest.raises(DecodeError) as caught:
        codec.decode_submission_strict(msgspec.json.encode(document))
    assert caught.value.path == "$.body.command.is_admin"


def test_bytes_that_are_not_json_are_malformed_even_after_an_invalid_value():
    with pytest.raises(MalformedJson):
        codec.decode_submission_strict(b'{"traffic_type": "OPERATION", ')
    with pytest.raises(MalformedJson):  # the typed decode fails first, the syntax after
        codec.decode_submission_strict(b'{"traffic_type": 7, "x": ]')
    with pytest.raises(DecodeError) as caught:
        codec.decode_submission_strict(b'{"traffic_type": 7}')
    assert not isinstance(caught.value, MalformedJson)
    assert caught.value.path == "$.traffic_type"


def test_a_date_time_that_overflows_once_in_utc_is_invalid_input():
    document = copy.deepcopy(SUBMISSION)
    document["label"]["created_at"] = "0001-01-01T00:04:00+02:00"
    with pytest.raises(DecodeError, match="out of range"):
        codec.decode_submission_strict(msgspec.json.encode(document))
