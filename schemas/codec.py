"""JSON on the wire: encoders and decoders built once, Kafka headers, record keys.

``decode`` is tolerant (unknown fields are ignored: consumers must survive producers that
are a version ahead). ``decode_submission_strict`` is for the gateway edge and refuses any
field the contract does not declare. Both raise ``DecodeError`` with a field path.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import msgspec

from schemas.common import whole
from schemas.envelope import Envelope, Submission
from schemas.strict import find_unknown_field

if TYPE_CHECKING:
    from schemas.topics import TopicSpec

CONTENT_TYPE = "application/json"
HEADER_CONTENT_TYPE = "content-type"
HEADER_KIND = "cell-kind"  # e.g. liaison.message
HEADER_KIND_VERSION = "cell-kind-version"  # e.g. 1
HEADER_MESSAGE_ID = "cell-message-id"
HEADER_PRECEDENCE = "cell-precedence"
HEADER_ORIGINATOR = "cell-originator"
HEADER_TRAFFIC_TYPE = "cell-traffic-type"
HEADER_TRACEPARENT = "traceparent"  # W3C Trace Context
HEADER_TRACESTATE = "tracestate"
TRACEPARENT_PATTERN = whole("00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")
_TRACEPARENT_RE = re.compile(TRACEPARENT_PATTERN)

_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(Envelope)
_SUBMISSION_DECODER = msgspec.json.Decoder(Submission)
_UNTYPED_DECODER = msgspec.json.Decoder()
_SUBMISSION_INFO = msgspec.inspect.type_info(Submission)

_PATH_RE = re.compile(r"^(?P<message>.*) - at `(?P<path>\$[^`]*)`$", re.DOTALL)
# Messages whose first backticked name is a field (or a list item: `releasable_to[2]`)
# under the reported object.
_FIELD_FIRST = re.compile(
    r"^(?:`(?P<own>\w+(?:\[\d+\])?)`"
    r"|Object (?:missing required|contains unknown) field `(?P<named>[^`]+)`)"
)


class DecodeError(ValueError):
    """Input that is not a valid message; ``path`` is JSONPath-like (``$.body.lines[0]``)."""

    def __init__(self, message: str, path: str = "$") -> None:
        super().__init__(f"{message} - at `{path}`")
        self.message = message
        self.path = path

    @classmethod
    def from_msgspec(cls, exc: msgspec.DecodeError) -> DecodeError:
        text = str(exc)
        matched = _PATH_RE.match(text)
        message, path = (matched["message"], matched["path"]) if matched else (text, "$")
        field = _FIELD_FIRST.match(message)
        if field is not None:
            path = f"{path}.{field['own'] or field['named']}"
        return cls(message, path)


def encode(envelope: Envelope) -> bytes:
    return _ENCODER.encode(envelope)


def encode_submission(submission: Submission) -> bytes:
    return _ENCODER.encode(submission)


def decode(data: bytes | bytearray | memoryview) -> Envelope:
    """Decode an envelope read from Kafka; unknown fields are ignored."""
    try:
        return _DECODER.decode(data)
    except msgspec.DecodeError as exc:
        raise DecodeError.from_msgspec(exc) from None


def decode_submission(data: bytes | bytearray | memoryview) -> Submission:
    """Tolerant submission decode, for clients and tests; the gateway uses the strict one."""
    try:
        return _SUBMISSION_DECODER.decode(data)
    except msgspec.DecodeError as exc:
        raise DecodeError.from_msgspec(exc) from None


def decode_submission_strict(data: bytes | bytearray | memoryview) -> Submission:
    """Decode a desk's submission, refusing any field the contract does not declare."""
    try:
        raw = _UNTYPED_DECODER.decode(data)
    except msgspec.DecodeError as exc:
        raise DecodeError.from_msgspec(exc) from None
    unknown = find_unknown_field(raw, _SUBMISSION_INFO)
    if unknown is not None:
        name = unknown.rpartition(".")[2]
        raise DecodeError(f"Object contains unknown field `{name}`", unknown)
    try:
        return msgspec.convert(raw, Submission)
    except msgspec.ValidationError as exc:
        raise DecodeError.from_msgspec(exc) from None


def headers(
    envelope: Envelope, *, traceparent: str | None = None, tracestate: str | None = None
) -> list[tuple[str, bytes]]:
    """Kafka record headers: enough to route, filter and trace without parsing the value."""
    kind, version = envelope.kind_and_version
    result = [
        (HEADER_CONTENT_TYPE, CONTENT_TYPE.encode()),
        (HEADER_KIND, kind.encode()),
        (HEADER_KIND_VERSION, str(version).encode()),
        (HEADER_MESSAGE_ID, str(envelope.message_id).encode()),
        (HEADER_PRECEDENCE, envelope.primary_precedence.value.encode()),
        (HEADER_ORIGINATOR, envelope.originator.encode()),
        (HEADER_TRAFFIC_TYPE, envelope.traffic_type.value.encode()),
    ]
    if traceparent is not None:
        if not _TRACEPARENT_RE.fullmatch(traceparent):
            raise ValueError(f"not a W3C traceparent: {traceparent!r}")
        result.append((HEADER_TRACEPARENT, traceparent.encode()))
        if tracestate:
            result.append((HEADER_TRACESTATE, tracestate.encode()))
    return result


def header_value(
    record_headers: list[tuple[str, bytes]] | tuple[tuple[str, bytes], ...], name: str
) -> str | None:
    """The first header of that name, decoded, or None."""
    for key, value in record_headers:
        if key == name:
            return value.decode()
    return None


def record_key(spec: TopicSpec, envelope: Envelope) -> bytes | None:
    """The record key the topic's key rule prescribes for this envelope."""
    return spec.key.key_for(envelope)
