"""The AsyncAPI 3.0 document: every registry topic as a channel, its messages and headers.

Per-desk inboxes are one parameterised channel (``cell.inbox.{nation}.{desk}.{lane}``), so
the document does not change when desks join. Payload schemas are msgspec's JSON Schema,
adapted to the AsyncAPI Schema Object (``discriminator`` is a property name there).
"""

from __future__ import annotations

from typing import Any

import msgspec

from schemas import codec
from schemas.audit import AuditRecord
from schemas.body import BODY_TYPES, tag_of
from schemas.common import DESK_ID_PATTERN
from schemas.envelope import Envelope
from schemas.precedence import LANES_HIGH_FIRST, Precedence
from schemas.topics import (
    AUDIT,
    DEADLETTER,
    INBOX_PREFIX,
    ROUTER_STATE,
    KeyRule,
    TopicSpec,
    fixed_specs,
)

CONTRACT_VERSION = "1.0.0"
KAFKA_BINDING = "0.5.0"
_COMPONENTS = "#/components/schemas/"
INBOX_TEMPLATE = INBOX_PREFIX + "{nation}.{desk}.{lane}"

JsonObject = dict[str, Any]

_KEY_DESCRIPTIONS = {
    KeyRule.ORIGINATOR: "Key: the originator desk id (UTF-8).",
    KeyRule.MESSAGE_ID: "Key: the message id (UUID text).",
    KeyRule.ENTITY: "Key: the entity id (case, request, order, incident), else the "
    "correlation id, else the message id.",
    KeyRule.OPAQUE: "Key: chosen by the producing service (see its description).",
}


def _asyncapi_schema(node: object) -> object:
    """msgspec JSON Schema -> AsyncAPI Schema Object (discriminator as a property name)."""
    if isinstance(node, dict):
        out = {key: _asyncapi_schema(value) for key, value in node.items()}
        discriminator = out.get("discriminator")
        if isinstance(discriminator, dict):
            out["discriminator"] = discriminator["propertyName"]
        return out
    if isinstance(node, list):
        return [_asyncapi_schema(value) for value in node]
    return node


def _message_id(tag: str) -> str:
    return tag.replace(".", "_")


def _channel_id(name: str) -> str:
    return name.replace(".", "_").replace("{", "").replace("}", "")


def _headers_schema() -> JsonObject:
    string: JsonObject = {"type": "string"}
    return {
        "type": "object",
        "description": "Kafka record headers (UTF-8 values) set on every envelope record.",
        "properties": {
            codec.HEADER_CONTENT_TYPE: {**string, "const": codec.CONTENT_TYPE},
            codec.HEADER_KIND: {**string, "description": "Body kind without version."},
            codec.HEADER_KIND_VERSION: {**string, "pattern": "^[0-9]+$"},
            codec.HEADER_MESSAGE_ID: {**string, "format": "uuid"},
            codec.HEADER_PRECEDENCE: {**string, "enum": [p.value for p in Precedence]},
            codec.HEADER_ORIGINATOR: {**string, "pattern": DESK_ID_PATTERN},
            codec.HEADER_TRAFFIC_TYPE: {**string, "enum": ["OPERATION", "EXERCISE", "DRILL"]},
            codec.HEADER_TRACEPARENT: {
                **string,
                "pattern": codec.TRACEPARENT_PATTERN,
                "description": "W3C Trace Context; present when the producer traces.",
            },
            codec.HEADER_TRACESTATE: {**string, "description": "W3C Trace Context vendor data."},
        },
        "required": [
            codec.HEADER_CONTENT_TYPE,
            codec.HEADER_KIND,
            codec.HEADER_KIND_VERSION,
            codec.HEADER_MESSAGE_ID,
            codec.HEADER_PRECEDENCE,
            codec.HEADER_ORIGINATOR,
            codec.HEADER_TRAFFIC_TYPE,
        ],
    }


def _components() -> tuple[JsonObject, JsonObject]:
    refs, defs = msgspec.json.schema_components(
        [Envelope, AuditRecord, *BODY_TYPES], ref_template=_COMPONENTS + "{name}"
    )
    schemas = {name: _asyncapi_schema(schema) for name, schema in sorted(defs.items())}
    schemas["CellHeaders"] = _headers_schema()
    messages: JsonObject = {}
    for kind, ref in zip(BODY_TYPES, refs[2:], strict=True):
        tag = tag_of(kind)
        doc = (kind.__doc__ or "").strip().splitlines()
        messages[_message_id(tag)] = {
            "name": tag,
            "title": kind.__name__,
            "summary": doc[0] if doc else f"Envelope carrying a {kind.__name__}.",
            "contentType": codec.CONTENT_TYPE,
            "headers": {"$ref": _COMPONENTS + "CellHeaders"},
            "payload": {
                "allOf": [
                    {"$ref": refs[0]["$ref"]},
                    {"type": "object", "properties": {"body": {"$ref": ref["$ref"]}}},
                ]
            },
        }
    messages["audit_record"] = {
        "name": "audit.record",
        "title": "AuditRecord",
        "summary": "One routing or guard decision about one message (and recipient).",
        "contentType": codec.CONTENT_TYPE,
        "payload": {"$ref": refs[1]["$ref"]},
    }
    messages["dead_letter"] = {
        "name": "deadletter",
        "title": "Dead letter",
        "summary": "A poison record, value unchanged; the reason travels in its headers.",
        "payload": {"description": "The original record value, as received."},
    }
    return schemas, messages


def _inbox_spec() -> TopicSpec:
    sample = next(spec for spec in fixed_specs() if spec.lane is not None)
    return msgspec.structs.replace(
        sample,
        name=INBOX_TEMPLATE,
        key=KeyRule.MESSAGE_ID,
        partitions=1,
        retention_ms=30 * 24 * 60 * 60 * 1000,
        producers=("router",),
        consumers=("gateway", "national-systems"),
        description="A desk's inbox for one precedence lane. A nation's downstream systems "
        "are granted the prefix cell.inbox.<nation>. and nothing else.",
        lane=None,
    )


def _channel_messages(spec: TopicSpec) -> list[str]:
    if spec.name.endswith(AUDIT):
        return ["audit_record"]
    if spec.name.endswith(DEADLETTER):
        return ["dead_letter"]
    return [_message_id(tag) for tag in spec.kinds]


def _channel(spec: TopicSpec, messages: list[str]) -> JsonObject:
    config: JsonObject = {"cleanup.policy": [spec.cleanup_policy.value]}
    if spec.retention_ms is not None:
        config["retention.ms"] = spec.retention_ms
    if spec.min_insync_replicas is not None:
        config["min.insync.replicas"] = spec.min_insync_replicas
    binding: JsonObject = {"partitions": spec.partitions, "topicConfiguration": config}
    if spec.replication_factor is not None:
        binding["replicas"] = spec.replication_factor
    binding["bindingVersion"] = KAFKA_BINDING
    description = f"{spec.description} {_KEY_DESCRIPTIONS[spec.key]}"
    if spec.name.endswith(ROUTER_STATE):
        description += " Router-internal records: no public contract."
    channel: JsonObject = {
        "address": spec.name,
        "description": description,
        "messages": {m: {"$ref": f"#/components/messages/{m}"} for m in messages},
        "bindings": {"kafka": binding},
        "x-cell-key": spec.key.value,
        "x-cell-producers": list(spec.producers),
        "x-cell-consumers": list(spec.consumers),
    }
    if spec.name == INBOX_TEMPLATE:
        channel["parameters"] = {
            "nation": {"description": "The desk's ISO 3166-1 alpha-3 nation, lower case."},
            "desk": {"description": "The desk id, e.g. ukr.mod.", "examples": ["ukr.mod"]},
            "lane": {"enum": [p.lane for p in LANES_HIGH_FIRST], "description": "Precedence."},
        }
    return channel


def _operations(channel_id: str, spec: TopicSpec, messages: list[str]) -> JsonObject:
    refs = [{"$ref": f"#/channels/{channel_id}/messages/{m}"} for m in messages]
    operations: JsonObject = {}
    for action, who in (("send", spec.producers), ("receive", spec.consumers)):
        if who:
            operations[f"{channel_id}_{action}"] = {
                "action": action,
                "channel": {"$ref": f"#/channels/{channel_id}"},
                "summary": f"{'Produced' if action == 'send' else 'Consumed'} by {', '.join(who)}.",
                "messages": refs,
            }
    return operations


def document() -> JsonObject:
    schemas, messages = _components()
    channels: JsonObject = {}
    operations: JsonObject = {}
    for spec in [*fixed_specs(), _inbox_spec()]:
        channel_id = _channel_id(spec.name)
        names = _channel_messages(spec)
        channels[channel_id] = _channel(spec, names)
        operations |= _operations(channel_id, spec, names)
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Paris coordination cell: Kafka contracts",
            "version": CONTRACT_VERSION,
            "description": "Typed traffic of the US / Ukraine / coalition coordination cell. "
            "Every record value is a JSON Envelope whose body kind is tagged "
            "`<family>.<name>.v<major>`; decoders must ignore unknown fields "
            "(see schemas/EVOLUTION.md).",
        },
        "defaultContentType": codec.CONTENT_TYPE,
        "servers": {
            "development": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "protocolVersion": "4.1",
                "description": "Single-node KRaft broker of the development environment.",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }
