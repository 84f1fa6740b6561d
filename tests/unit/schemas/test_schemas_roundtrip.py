"""Property tests: every kind survives encode -> decode, as envelope and as submission."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemas_strategies import all_tags, envelopes, submissions

from schemas import codec
from schemas.body import KINDS, tag_of
from schemas.envelope import seal
from schemas.topics import KeyRule, TopicSpec

PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("tag", all_tags())
@PROPERTY
@given(data=st.data())
def test_envelope_round_trips(tag, data):
    envelope = data.draw(envelopes(tag))

    wire = codec.encode(envelope)
    decoded = codec.decode(wire)

    assert decoded == envelope
    assert codec.encode(decoded) == wire  # canonical: nothing normalised twice
    assert tag_of(decoded.body) == tag
    assert isinstance(decoded.body, KINDS[tag])
    assert decoded.released_at.utcoffset().total_seconds() == 0


@pytest.mark.parametrize("tag", all_tags())
@PROPERTY
@given(data=st.data())
def test_submission_round_trips_through_the_strict_decoder(tag, data):
    submission = data.draw(submissions(tag))

    decoded = codec.decode_submission_strict(codec.encode_submission(submission))

    assert decoded == submission
    envelope = seal(decoded, "usa.eucom", decoded.label.created_at)
    assert envelope.body == submission.body
    assert envelope.originator == "usa.eucom"


@pytest.mark.parametrize("tag", all_tags())
@settings(max_examples=5, deadline=None)
@given(data=st.data())
def test_headers_and_keys_describe_the_envelope(tag, data):
    envelope = data.draw(envelopes(tag))
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    headers = dict(codec.headers(envelope, traceparent=traceparent))

    kind, version = tag.rsplit(".v", 1)
    assert headers[codec.HEADER_KIND] == kind.encode()
    assert headers[codec.HEADER_KIND_VERSION] == version.encode()
    assert headers[codec.HEADER_MESSAGE_ID] == str(envelope.message_id).encode()
    assert headers[codec.HEADER_PRECEDENCE] == envelope.primary_precedence.value.encode()
    assert headers[codec.HEADER_ORIGINATOR] == envelope.originator.encode()
    assert headers[codec.HEADER_TRAFFIC_TYPE] == envelope.traffic_type.value.encode()
    assert headers[codec.HEADER_CONTENT_TYPE] == b"application/json"
    assert headers[codec.HEADER_TRACEPARENT] == traceparent.encode()
    spec = TopicSpec(name="t", key=KeyRule.ENTITY, partitions=1)
    key = codec.record_key(spec, envelope)
    expected = envelope.body.entity_key() or envelope.correlation_id or str(envelope.message_id)
    assert key == expected.encode()
    for rule, value in (
        (KeyRule.ORIGINATOR, envelope.originator.encode()),
        (KeyRule.MESSAGE_ID, str(envelope.message_id).encode()),
        (KeyRule.OPAQUE, None),
    ):
        assert codec.record_key(msgspec.structs.replace(spec, key=rule), envelope) == value
