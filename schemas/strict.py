"""Find fields a type does not declare, anywhere in an untyped JSON value.

The gateway must refuse unknown properties (mass assignment, OWASP API3) while Kafka
consumers must tolerate them (schema evolution). Rather than keep a second, strict copy of
every struct, this walks the parsed JSON alongside ``msgspec.inspect`` type information,
which stays correct as the structs evolve.

The type information is compiled once per type into a tree of small checkers that only
descend where an object can appear: strings, numbers, enums and lists of them are never
visited (a naive walk over the type information cost ~140 us per submission; see
``schemas/PERFORMANCE.md``).
"""

from __future__ import annotations

from collections.abc import Callable

from msgspec import inspect

# A checker returns the path of the first undeclared key under ``value``, or None.
Checker = Callable[[object, str], "str | None"]

_SEQUENCES = (inspect.ListType, inspect.VarTupleType, inspect.SetType, inspect.FrozenSetType)
# id(info) -> (info, checker); the info is kept so that its id cannot be reused meanwhile.
_COMPILED: dict[int, tuple[inspect.Type, Checker | None]] = {}


def find_unknown_field(value: object, info: inspect.Type, path: str = "$") -> str | None:
    """Path of the first object key ``info`` does not declare (``$.body.foo``), or None.

    Values that do not fit the type at all are left alone: typed decoding reports those
    with a better message.
    """
    cached = _COMPILED.get(id(info))
    if cached is None:
        cached = _COMPILED[id(info)] = (info, _compile(info, {}))
    checker = cached[1]
    return None if checker is None else checker(value, path)


def _compile(info: inspect.Type, structs: dict[type, Checker]) -> Checker | None:
    """The checker for ``info``, or None when no object (hence no unknown key) can occur."""
    while isinstance(info, inspect.Metadata):
        info = info.type
    if isinstance(info, inspect.StructType):
        return _struct(info, structs)
    if isinstance(info, inspect.UnionType):
        return _union(info, structs)
    if isinstance(info, _SEQUENCES):
        return _items(_compile(info.item_type, structs))
    if isinstance(info, inspect.TupleType):
        return _positions(tuple(_compile(t, structs) for t in info.item_types))
    if isinstance(info, inspect.DictType):
        return _values(_compile(info.value_type, structs))
    return None


def _struct(info: inspect.StructType, structs: dict[type, Checker]) -> Checker:
    known = structs.get(info.cls)
    if known is not None:  # already compiled (or being compiled: recursive types)
        return known
    fields: dict[str, Checker | None] = {}
    tag_field = info.tag_field

    def check(value: object, path: str) -> str | None:
        if not isinstance(value, dict):
            return None
        for key, item in value.items():
            if key in fields:
                child = fields[key]
                if child is not None:
                    found = child(item, f"{path}.{key}")
                    if found is not None:
                        return found
            elif key != tag_field:
                return f"{path}.{key}"
        return None

    structs[info.cls] = check
    fields.update({f.encode_name: _compile(f.type, structs) for f in info.fields})
    return check


def _union(info: inspect.UnionType, structs: dict[type, Checker]) -> Checker | None:
    members = [t for t in info.types if isinstance(t, inspect.StructType)]
    others = [c for t in info.types if (c := _non_struct(t, structs)) is not None]
    tag_field = members[0].tag_field if members else None
    by_tag = {m.tag: _struct(m, structs) for m in members} if tag_field is not None else {}
    # An untagged union holds at most one struct type.
    single = _struct(members[0], structs) if members and tag_field is None else None
    if not members and not others:
        return None

    def check(value: object, path: str) -> str | None:
        if members and isinstance(value, dict):
            if single is not None:
                return single(value, path)
            tag = value.get(tag_field)
            # A non-string tag (`{"kind": {}}`) matches no member: msgspec reports it.
            match = by_tag.get(tag) if isinstance(tag, str) else None
            return None if match is None else match(value, path)
        for other in others:
            found = other(value, path)
            if found is not None:
                return found
        return None

    return check


def _non_struct(info: inspect.Type, structs: dict[type, Checker]) -> Checker | None:
    return None if isinstance(info, inspect.StructType) else _compile(info, structs)


def _items(item: Checker | None) -> Checker | None:
    if item is None:
        return None

    def check(value: object, path: str) -> str | None:
        if not isinstance(value, list):
            return None
        for index, element in enumerate(value):
            found = item(element, f"{path}[{index}]")
            if found is not None:
                return found
        return None

    return check


def _positions(items: tuple[Checker | None, ...]) -> Checker | None:
    if all(item is None for item in items):
        return None

    def check(value: object, path: str) -> str | None:
        if not isinstance(value, list):
            return None
        for index, (element, item) in enumerate(zip(value, items, strict=False)):
            found = None if item is None else item(element, f"{path}[{index}]")
            if found is not None:
                return found
        return None

    return check


def _values(item: Checker | None) -> Checker | None:
    if item is None:
        return None

    def check(value: object, path: str) -> str | None:
        if not isinstance(value, dict):
            return None
        for key, element in value.items():
            found = item(element, f"{path}[{key!r}]")
            if found is not None:
                return found
        return None

    return check
