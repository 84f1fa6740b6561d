"""The envelope's msgspec types without their cross-field rules, built mechanically.

Same fields, defaults, tags and per-field constraints as ``schemas.envelope.Envelope``, but no
``__post_init__``: decoding it does exactly the work the pydantic twin does, so ``decode``
can show both the like-for-like ratio and what our cross-field rules cost on top.
"""

# ruff: noqa: ANN401 - translating runtime type objects is Any by nature
from __future__ import annotations

import datetime as dt
import functools
import uuid
from typing import Annotated, Any, Literal, Union

import msgspec
from msgspec import Meta, inspect

from schemas.envelope import Envelope

_LIMITS = ("min_length", "max_length", "ge", "gt", "le", "lt", "multiple_of", "pattern", "tz")


def _annotated(base: Any, t: Any) -> Any:
    limits = {n: getattr(t, n) for n in _LIMITS if getattr(t, n, None) is not None}
    return Annotated[base, Meta(**limits)] if limits else base


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
            return _struct(t.cls)
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
            return _annotated(dt.datetime, t)
        case inspect.DateType():
            return dt.date
        case inspect.EnumType():
            return t.cls
        case inspect.LiteralType():
            return Literal[tuple(t.values)]
        case inspect.VarTupleType() | inspect.ListType():
            return _annotated(tuple[_python_type(t.item_type), ...], t)  # type: ignore[misc]
        case inspect.UnionType():
            return Union[tuple(_python_type(m) for m in t.types)]  # noqa: UP007 - runtime
    raise TypeError(f"no msgspec twin for {t!r}")


@functools.cache
def _struct(cls: type[msgspec.Struct]) -> type[msgspec.Struct]:
    info = inspect.type_info(cls)
    assert isinstance(info, inspect.StructType)
    fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    for f in info.fields:
        annotation = _python_type(f.type)
        if f.required:
            fields.append((f.name, annotation))
        elif f.default_factory is not msgspec.NODEFAULT:
            fields.append((f.name, annotation, msgspec.field(default_factory=f.default_factory)))
        else:
            fields.append((f.name, annotation, f.default))
    return msgspec.defstruct(
        f"Twin{cls.__name__}",
        fields,
        frozen=True,
        kw_only=True,
        tag_field=info.tag_field,
        tag=info.tag,
        forbid_unknown_fields=info.forbid_unknown_fields,
    )


def envelope_twin() -> type[msgspec.Struct]:
    return _struct(Envelope)
