"""Find fields a type does not declare, anywhere in an untyped JSON value.

The gateway must refuse unknown properties (mass assignment, OWASP API3) while Kafka
consumers must tolerate them (schema evolution). Rather than keep a second, strict copy of
every struct, this walks the parsed JSON alongside ``msgspec.inspect`` type information,
which stays correct as the structs evolve.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from msgspec import inspect

if TYPE_CHECKING:
    from collections.abc import Iterable

_SEQUENCES = (inspect.ListType, inspect.VarTupleType, inspect.SetType, inspect.FrozenSetType)


def find_unknown_field(value: object, info: inspect.Type, path: str = "$") -> str | None:
    """Path of the first object key ``info`` does not declare (``$.body.foo``), or None.

    Values that do not fit the type at all are left alone: typed decoding reports those
    with a better message.
    """
    while isinstance(info, inspect.Metadata):
        info = info.type
    found: str | None = None
    if isinstance(info, inspect.StructType) and isinstance(value, dict):
        found = _in_struct(value, info, path)
    elif isinstance(info, inspect.UnionType):
        found = _in_union(value, info.types, path)
    elif isinstance(info, _SEQUENCES) and isinstance(value, list):
        found = _in_items(value, (info.item_type for _ in value), path)
    elif isinstance(info, inspect.TupleType) and isinstance(value, list):
        found = _in_items(value, info.item_types, path)
    elif isinstance(info, inspect.DictType) and isinstance(value, dict):
        found = _in_items(list(value.values()), (info.value_type for _ in value), path, value)
    return found


def _in_struct(value: dict[str, object], info: inspect.StructType, path: str) -> str | None:
    fields = {field.encode_name: field for field in info.fields}
    for key, item in value.items():
        if key == info.tag_field:
            continue
        field = fields.get(key)
        if field is None:
            return f"{path}.{key}"
        found = find_unknown_field(item, field.type, f"{path}.{key}")
        if found is not None:
            return found
    return None


def _in_union(value: object, types: tuple[inspect.Type, ...], path: str) -> str | None:
    structs = [t for t in types if isinstance(t, inspect.StructType)]
    if structs and isinstance(value, dict):
        tag_field = structs[0].tag_field
        if tag_field is None:  # an untagged union holds at most one struct type
            return _in_struct(value, structs[0], path)
        match = next((s for s in structs if s.tag == value.get(tag_field)), None)
        return None if match is None else _in_struct(value, match, path)
    for member in types:
        if not isinstance(member, inspect.StructType):
            found = find_unknown_field(value, member, path)
            if found is not None:
                return found
    return None


def _in_items(
    items: list[object],
    types: Iterable[inspect.Type],
    path: str,
    mapping: dict[str, object] | None = None,
) -> str | None:
    keys = list(mapping) if mapping is not None else range(len(items))
    for key, item, info in zip(keys, items, types, strict=False):
        found = find_unknown_field(item, info, f"{path}[{key!r}]" if mapping else f"{path}[{key}]")
        if found is not None:
            return found
    return None
