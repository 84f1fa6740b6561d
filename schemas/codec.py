"""JSON on the wire: encoders and decoders built once, Kafka headers, record keys.

``decode`` is tolerant (unknown fields are ignored: consumers must survive producers that
are a version ahead). ``decode_submission_strict`` is for the gateway edge and refuses any
field the contract does not declare, in the same pass (``schemas.strict.strict_twin``).
Both raise ``DecodeError`` with a field path; bytes that are not JSON at all raise its
subclass ``MalformedJson``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import msgspec

from schemas.common import TrafficType, whole
from schemas.envelope import Envelope, Submission
from schemas.precedence import Precedence
from schemas.strict import find_unknown_field, strict_twin

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
_STRICT_DECODER = msgspec.json.Decoder(strict_twin(Submission))
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


class MalformedJson(DecodeError):
    """The bytes are not JSON (truncated, bad syntax): nothing could be validated."""


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


def decode_submission_strict(data: bytes | bytearray | memoryview | msgspec.Raw) -> Submission:
    """Decode a desk's submission, refusing any field the contract does not declare.

    One pass on valid input. On invalid input the report is the one the edge has always
    given, whatever the order of the problems in the document: not JSON first
    (``MalformedJson``), then the first undeclared field, then the typed error.
    """
    try:
        return _STRICT_DECODER.decode(data)
    except msgspec.ValidationError as exc:
        raise _first_error(data, exc) from None
    except msgspec.DecodeError as exc:
        raise MalformedJson.from_msgspec(exc) from None
    except OverflowError as exc:
        # A date-time at the edge of the calendar (``0001-01-01T00:04:00+02:00``) passes
        # msgspec, then overflows when a struct's rule converts it to UTC; msgspec wraps
        # only ValueError and TypeError, so this is the client's input error too.
        raise DecodeError(f"a date-time is out of range: {exc}") from None


def _first_error(
    data: bytes | bytearray | memoryview | msgspec.Raw, exc: msgspec.ValidationError
) -> DecodeError:
    try:
        raw = _UNTYPED_DECODER.decode(data)
    except msgspec.DecodeError as malformed:  # invalid before the parser reached the fault
        return MalformedJson.from_msgspec(malformed)
    unknown = find_unknown_field(raw, _SUBMISSION_INFO)
    if unknown is not None:
        name = unknown.rpartition(".")[2]
        return DecodeError(f"Object contains unknown field `{name}`", unknown)
    return DecodeError.from_msgspec(exc)


def headers(
    envelope: Envelope, *, traceparent: str | None = None, tracestate: str | None = None
) -> list[tuple[str, bytes]]:
    """Kafka record headers: enough to route, filter and trace without parsing the value."""
    # Per message only the id and the originator are new: the other headers are tuples
    # built once per kind, precedence and traffic type.
    kind = _KIND_HEADERS.get(type(envelope.body)) or _kind_headers(envelope)
    result = [
        _CONTENT_TYPE_HEADER,
        kind[0],
        kind[1],
        # msgspec writes the canonical hyphenated form in C (UUID.__str__ is Python code).
        (HEADER_MESSAGE_ID, _ENCODER.encode(envelope.message_id)[1:-1]),
        _PRECEDENCE_HEADERS[envelope.primary_precedence],
        (HEADER_ORIGINATOR, envelope.originator.encode()),
        _TRAFFIC_HEADERS[envelope.traffic_type],
    ]
    if traceparent is not None:
        if not _TRACEPARENT_RE.fullmatch(traceparent):
            raise ValueError(f"not a W3C traceparent: {traceparent!r}")
        result.append((HEADER_TRACEPARENT, traceparent.encode()))
        if tracestate:
            result.append((HEADER_TRACESTATE, tracestate.encode()))
    return result


_Header = tuple[str, bytes]
_CONTENT_TYPE_HEADER = (HEADER_CONTENT_TYPE, CONTENT_TYPE.encode())
_PRECEDENCE_HEADERS = {p: (HEADER_PRECEDENCE, p.value.encode()) for p in Precedence}
_TRAFFIC_HEADERS = {t: (HEADER_TRAFFIC_TYPE, t.value.encode()) for t in TrafficType}
_KIND_HEADERS: dict[type, tuple[_Header, _Header]] = {}


def _kind_headers(envelope: Envelope) -> tuple[_Header, _Header]:
    kind, version = envelope.kind_and_version
    found = (HEADER_KIND, kind.encode()), (HEADER_KIND_VERSION, str(version).encode())
    _KIND_HEADERS[type(envelope.body)] = found  # one entry per body type: bounded
    return found


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
