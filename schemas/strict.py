"""Refusing fields a type does not declare: strict twins, and a walk for error reports.

The gateway must refuse unknown properties (mass assignment, OWASP API3) while Kafka
consumers must tolerate them (schema evolution).

``strict_twin(cls)`` derives, once, a subclass of every struct reachable from ``cls`` with
``forbid_unknown_fields=True`` and its struct-typed fields re-annotated to the twins:
msgspec then refuses unknown fields while it decodes, in C, in the same pass. Twins are
generated from the structs themselves, so they stay correct as the structs evolve; their
instances are ``isinstance`` of the real classes, carry the same name, tags, field order,
defaults and ``__post_init__`` rules, encode to the same bytes, and compare and hash equal
to the same value of the real class (msgspec alone compares the exact type).

``find_unknown_field`` walks parsed JSON alongside ``msgspec.inspect`` type information. It
serves the error path: the edge reports an unknown field before any other error, whatever
its position in the document. The type information is compiled once per type into small
checkers that only descend where an object can appear (see ``schemas/PERFORMANCE.md``).
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

import msgspec
from msgspec import inspect

S = TypeVar("S", bound=msgspec.Struct)
_GENERICS = (tuple, list, dict, set, frozenset)
_BUILDING: set[type] = set()


def strict_twin(cls: type[S]) -> type[S]:
    """The subclass of ``cls`` that refuses undeclared fields, down every nested struct."""
    return typing.cast("type[S]", _twin(cls))


@functools.cache
def _twin(cls: type[msgspec.Struct]) -> type[msgspec.Struct]:
    if cls in _BUILDING:
        raise TypeError(f"recursive struct {cls.__qualname__}: no strict twin")
    _BUILDING.add(cls)
    try:
        hints = typing.get_type_hints(cls, include_extras=True)
        infos = {f.name: f for f in msgspec.structs.fields(cls)}
        overrides: list[tuple[str, Any, Any]] = []
        for name in cls.__struct_fields__:
            retyped = _retype(hints[name])
            if retyped is not hints[name]:
                overrides.append((name, retyped, _field(infos[name])))
    finally:
        _BUILDING.discard(cls)
    twin = msgspec.defstruct(
        cls.__name__,
        overrides,
        bases=(cls,),
        module=cls.__module__,
        namespace=_equality(cls, same := {cls}),
        kw_only=not cls.__match_args__,
        forbid_unknown_fields=True,
    )
    same.add(twin)
    twin.__qualname__ = cls.__qualname__
    twin.__doc__ = cls.__doc__
    return twin


def _equality(cls: type[msgspec.Struct], same: set[type]) -> dict[str, object]:
    """``==``, ``!=`` and ``hash`` as between two values of ``cls`` (off the hot path);
    ``same`` holds ``cls`` and, once built, its twin."""
    astuple = msgspec.structs.astuple

    def __eq__(self: msgspec.Struct, other: object) -> bool:  # noqa: N807
        if type(other) in same:
            return astuple(self) == astuple(other)  # type: ignore[arg-type]
        return NotImplemented

    def __ne__(self: msgspec.Struct, other: object) -> bool:  # noqa: N807
        equal = __eq__(self, other)
        return equal if equal is NotImplemented else not equal

    namespace: dict[str, object] = {"__eq__": __eq__, "__ne__": __ne__}
    if cls.__hash__ is not None:  # frozen: hash as the real value does (msgspec salts by type)

        def __hash__(self: msgspec.Struct) -> int:  # noqa: N807
            return hash(cls(**msgspec.structs.asdict(self)))

        namespace["__hash__"] = __hash__
    return namespace


def _field(info: msgspec.structs.FieldInfo) -> Any:  # noqa: ANN401 - msgspec.field
    rename = info.encode_name if info.encode_name != info.name else None
    if info.default_factory is not msgspec.NODEFAULT:
        return msgspec.field(default_factory=info.default_factory, name=rename)
    return msgspec.field(default=info.default, name=rename)


def _retype(hint: Any) -> Any:  # noqa: ANN401 - runtime type hints
    """``hint`` with every struct class replaced by its twin; ``hint`` itself if none."""
    if isinstance(hint, type) and issubclass(hint, msgspec.Struct):
        return _twin(hint)
    origin, args = get_origin(hint), get_args(hint)
    if not args:
        return hint
    if origin is Annotated:
        inner = _retype(args[0])
        return hint if inner is args[0] else Annotated[(inner, *hint.__metadata__)]
    retyped = tuple(a if a is Ellipsis else _retype(a) for a in args)
    if all(new is old for new, old in zip(retyped, args, strict=True)):
        return hint
    if origin is Union or origin is types.UnionType:
        return Union[retyped]  # noqa: UP007 - built at runtime from a tuple
    if origin in _GENERICS:
        return origin[retyped]
    raise TypeError(f"no strict twin for {hint!r}")


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
