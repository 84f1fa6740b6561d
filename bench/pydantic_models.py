"""Pydantic v2 models equivalent to the msgspec contract, built mechanically from it.

The benchmark-only baseline arm of ``decode``. Every Struct of the envelope becomes a frozen
``BaseModel`` with the same fields, defaults and per-field constraints (lengths, patterns,
bounds, enums, zone-aware datetimes, UUIDs); the body union becomes a discriminated union on
``kind``. Cross-field rules (``__post_init__``: copy <= primary precedence, ack_by after
created_at, ...) are not translated, so pydantic does slightly less work than msgspec: the
measured ratio is conservative.

Patterns: the schemas anchor with ``$(?!\\n)`` for Python's ``re``; pydantic's Rust regex
engine has no look-around but its ``$`` already means end of text, so the suffix is dropped.
"""

# ruff: noqa: ANN401 - translating runtime type objects is Any by nature
from __future__ import annotations

import datetime as dt
import functools
import uuid
from typing import Annotated, Any, Literal, Union

import msgspec
from msgspec import inspect
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, create_model

from schemas.envelope import Envelope

_CONFIG = ConfigDict(frozen=True, extra="ignore", strict=True)
_PATTERN_SUFFIX = "(?!\\n)"


def _constraints(t: Any) -> dict[str, Any]:
    names = ("min_length", "max_length", "ge", "gt", "le", "lt", "multiple_of")
    found = {n: getattr(t, n) for n in names if getattr(t, n, None) is not None}
    pattern = getattr(t, "pattern", None)
    if pattern is not None:
        found["pattern"] = pattern.removesuffix(_PATTERN_SUFFIX)
    return found


def _annotated(base: Any, t: Any) -> Any:
    limits = _constraints(t)
    return Annotated[base, Field(**limits)] if limits else base


def _schema_pattern(t: inspect.Metadata) -> Any:
    """The inner type, with a pattern the contract keeps in its JSON Schema only.

    ``ListedNation`` items leave their regex to the enclosing struct's ``__post_init__``
    (one pass per list) and declare it via ``extra_json_schema``; the twin validates it per
    item like any other pattern, so it keeps checking what the contract checks.
    """
    pattern = (t.extra_json_schema or {}).get("pattern")
    if isinstance(t.type, inspect.StrType) and pattern is not None and t.type.pattern is None:
        return msgspec.structs.replace(t.type, pattern=pattern)
    return t.type


def _python_type(t: Any) -> Any:  # noqa: C901, PLR0911, PLR0912 - one branch per msgspec type
    match t:
        case inspect.Metadata():
            return _python_type(_schema_pattern(t))
        case inspect.StructType():
            return _model(t.cls)
        case inspect.StrType():
            return _annotated(str, t)
        case inspect.IntType():
            return _annotated(int, t)
        case inspect.FloatType():
            return _annotated(float, t)
        case inspect.BoolType():
            return bool
        case inspect.NoneType():
            return None
        case inspect.UUIDType():
            return uuid.UUID
        case inspect.DateTimeType():
            return AwareDatetime if t.tz else dt.datetime
        case inspect.DateType():
            return dt.date
        case inspect.EnumType():
            return t.cls
        case inspect.LiteralType():
            return Literal[tuple(t.values)]
        case inspect.VarTupleType() | inspect.ListType():
            return _annotated(tuple[_python_type(t.item_type), ...], t)  # type: ignore[misc]
        case inspect.UnionType():
            return _union(t)
    raise TypeError(f"no pydantic equivalent for {t!r}")


def _union(t: inspect.UnionType) -> Any:
    members = [_python_type(m) for m in t.types]
    tagged = [m for m in t.types if isinstance(m, inspect.StructType) and m.tag_field]
    if len(tagged) > 1:
        structs = Union[tuple(_model(m.cls) for m in tagged)]  # type: ignore[valid-type]  # noqa: UP007
        discriminated = Annotated[structs, Field(discriminator=tagged[0].tag_field)]  # type: ignore[valid-type]
        rest = [_python_type(m) for m in t.types if m not in tagged]
        return Union[(discriminated, *rest)] if rest else discriminated
    return Union[tuple(members)]  # noqa: UP007


@functools.cache
def _model(cls: type[msgspec.Struct]) -> type[BaseModel]:
    info = inspect.type_info(cls)
    assert isinstance(info, inspect.StructType)
    fields: dict[str, Any] = {}
    if info.tag_field is not None:
        fields[info.tag_field] = (Literal[info.tag], ...)
    for f in info.fields:
        annotation = _python_type(f.type)
        if f.required:
            fields[f.name] = (annotation, ...)
        elif f.default_factory is not msgspec.NODEFAULT:
            fields[f.name] = (annotation, Field(default_factory=f.default_factory))
        else:
            fields[f.name] = (annotation, f.default)
    model: type[BaseModel] = create_model(f"Py{cls.__name__}", __config__=_CONFIG, **fields)
    return model


def envelope_model() -> type[BaseModel]:
    """The pydantic twin of ``schemas.envelope.Envelope``."""
    return _model(Envelope)
