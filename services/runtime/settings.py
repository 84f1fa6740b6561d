"""One settings object per process, read from `CELL_*` environment variables.

Each service declares a frozen msgspec Struct that extends `CommonSettings`; `load()` reads
every field from `CELL_<FIELD_NAME>`, converts and validates it with msgspec, and fails at
start with the variable's name when a value is wrong. Fields whose `Meta.extra` has
`secret=True` are masked by `redacted()`, which is what gets logged.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar

import msgspec

from services.runtime.errors import ConfigurationError

PREFIX = "CELL_"
T = TypeVar("T", bound="CommonSettings")


class CommonSettings(msgspec.Struct, frozen=True, kw_only=True):
    kafka_bootstrap: Annotated[
        str, msgspec.Meta(description="Kafka bootstrap servers, host:port[,host:port]")
    ] = "127.0.0.1:9092"
    kafka_timeout_s: Annotated[
        float,
        msgspec.Meta(
            gt=0, le=300, description="Deadline for one Kafka request (send, fetch, admin)"
        ),
    ] = 10.0
    kafka_replication_factor: Annotated[
        int, msgspec.Meta(ge=1, le=5, description="Replication factor for provisioned topics")
    ] = 1
    topic_prefix: Annotated[
        str,
        msgspec.Meta(
            pattern=r"^[a-z0-9._-]{0,40}$",
            description="Prefix of every topic name (isolates tests or tenants on one cluster)",
        ),
    ] = ""
    desks_file: Annotated[
        str, msgspec.Meta(description="Desk registry (JSON): desks, nations, clearances, roles")
    ] = "deploy/desks/demo.json"
    log_format: Annotated[
        Literal["auto", "json", "console"],
        msgspec.Meta(description="Log rendering: JSON lines, coloured console, or auto (tty)"),
    ] = "auto"
    log_level: Annotated[
        Literal["DEBUG", "INFO", "WARNING", "ERROR"], msgspec.Meta(description="Minimum log level")
    ] = "INFO"
    metrics_port: Annotated[
        int,
        msgspec.Meta(ge=0, le=65535, description="Prometheus metrics port for workers (0: off)"),
    ] = 0
    kafka_sasl_username: Annotated[
        str,
        msgspec.Meta(
            description="SCRAM-SHA-512 user for Kafka (empty: no SASL; Strimzi KafkaUser name)"
        ),
    ] = ""
    kafka_sasl_password: Annotated[
        str,
        msgspec.Meta(description="Password of kafka_sasl_username", extra={"secret": True}),
    ] = ""


def _field_infos(cls: type[msgspec.Struct]) -> list[msgspec.inspect.Field]:
    info = msgspec.inspect.type_info(cls)
    assert isinstance(info, msgspec.inspect.StructType)
    return list(info.fields)


def _is_secret(field: msgspec.inspect.Field) -> bool:
    t = field.type
    return isinstance(t, msgspec.inspect.Metadata) and bool((t.extra or {}).get("secret"))


def load(cls: type[T], env: Mapping[str, str] | None = None) -> T:
    env = os.environ if env is None else env
    raw: dict[str, Any] = {}
    for field in _field_infos(cls):
        name = PREFIX + field.name.upper()
        if name in env:
            raw[field.name] = env[name]
    try:
        # strict=False: environment values are strings; msgspec converts "8080" and "true".
        return msgspec.convert(raw, cls, strict=False)
    except msgspec.ValidationError as exc:
        message = str(exc)
        for field in _field_infos(cls):
            message = message.replace(f"$.{field.name}", PREFIX + field.name.upper())
        raise ConfigurationError(f"invalid setting: {message}") from exc


def redacted(settings: msgspec.Struct) -> dict[str, Any]:
    shown: dict[str, Any] = msgspec.structs.asdict(settings)
    for field in _field_infos(type(settings)):
        if _is_secret(field) and shown.get(field.name):
            shown[field.name] = "***"
    return shown


def describe(cls: type[msgspec.Struct]) -> list[tuple[str, str, str, str]]:
    """(variable, type, default, description) rows: the README's configuration table."""
    rows = []
    for field in _field_infos(cls):
        t = field.type
        description = ""
        if isinstance(t, msgspec.inspect.Metadata):
            description = str((t.extra_json_schema or {}).get("description", ""))
            t = t.type
        type_name = type(t).__name__.removesuffix("Type").lower()
        if isinstance(t, msgspec.inspect.LiteralType):
            type_name = " \\| ".join(map(str, t.values))
        default = "" if field.default is msgspec.NODEFAULT else repr(field.default)
        if _is_secret(field):
            default = "(secret)"
        rows.append((PREFIX + field.name.upper(), type_name, default, description))
    return rows
