"""Hypothesis strategies for every contract, derived from the structs themselves.

Values are generated as raw JSON data from ``msgspec.inspect`` type information (so the
constraints in the types bound them), nudged by small per-struct fix-ups towards the
cross-field rules, then converted with msgspec, which also runs every ``__post_init__``.
Anything still invalid is filtered out. A new field or kind is covered without editing
this file; only a new cross-field rule may want a fix-up here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from typing import Any

import msgspec
from hypothesis import strategies as st
from msgspec import inspect as mi
from schemas_fixups import FIXUPS

from schemas.body import KINDS
from schemas.common import TimeWindow
from schemas.envelope import Envelope, Submission
from schemas.kinds.alert import AttackAlert
from schemas.kinds.tasking import TaskingOrder
from schemas.labels import Policy, SecurityLabel, levels
from schemas.precedence import Precedence

Raw = Any  # JSON-shaped data: dict / list / str / int / float / bool / None
MAX_ITEMS = 3
_LOOKAHEAD = "(?!\\n)"
OFFSETS = (UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30)))
MOMENTS = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1))  # noqa: DTZ001 - zone added below


def aware(moment: datetime, offset: timezone = UTC) -> str:
    return moment.replace(tzinfo=UTC).astimezone(offset).isoformat()


@st.composite
def _time_window(draw: st.DrawFn) -> Raw:
    start, end = sorted([draw(MOMENTS), draw(MOMENTS)])
    raw = {"start": aware(start, draw(st.sampled_from(OFFSETS))), "end": aware(end)}
    if draw(st.booleans()):
        raw["original_tz"] = draw(st.sampled_from(["Europe/Kyiv", "UTC", "America/New_York"]))
    return raw


@st.composite
def _label(draw: st.DrawFn) -> Raw:
    policy = draw(st.sampled_from(Policy))
    return {
        "policy": policy.value,
        "classification": draw(st.sampled_from(levels(policy))).value,
        "releasable_to": draw(st.lists(_regex("[A-Z]{3}"), min_size=1, max_size=4, unique=True)),
        "restrictive_categories": draw(
            st.lists(st.sampled_from(["ATOMAL", "CRYPTO", "SIGINT"]), max_size=2, unique=True)
        ),
        "created_at": aware(draw(MOMENTS)),
    }


# Structs whose rules are easier to satisfy by construction than by fix-up.
_BUILT: dict[type, Callable[[], st.SearchStrategy[Raw]]] = {
    TimeWindow: _time_window,
    SecurityLabel: _label,
}


def _strip_anchors(pattern: str) -> str:
    return pattern.removeprefix("^").removesuffix(_LOOKAHEAD).removesuffix("$")


@cache
def _regex(body: str) -> st.SearchStrategy[str]:
    return st.from_regex(re.compile(body, re.ASCII), fullmatch=True)


def _str(info: mi.StrType) -> st.SearchStrategy[str]:
    low, high = info.min_length or 0, info.max_length
    if info.pattern is not None:
        values = _regex(_strip_anchors(info.pattern))
    else:
        values = st.text(
            st.characters(codec="utf-8", exclude_categories=("Cs",)),
            min_size=low,
            max_size=min(high or 30, max(low, 30)),
        )
    return values.filter(lambda v: len(v) >= low and (high is None or len(v) <= high))


def _number(info: mi.IntType | mi.FloatType) -> st.SearchStrategy[Any]:
    if isinstance(info, mi.IntType):
        low = info.ge if info.ge is not None else (info.gt + 1 if info.gt is not None else -(10**6))
        high = info.le if info.le is not None else (info.lt - 1 if info.lt is not None else 10**6)
        return st.integers(low, high)
    return st.floats(
        min_value=info.ge if info.ge is not None else info.gt,
        max_value=info.le if info.le is not None else info.lt,
        exclude_min=info.ge is None and info.gt is not None,
        exclude_max=info.le is None and info.lt is not None,
        allow_nan=False,
        allow_infinity=False,
    )


def _collection(info: mi.VarTupleType | mi.ListType | mi.SetType | mi.FrozenSetType) -> Any:
    item = raw(info.item_type)
    low = info.min_length or 0
    high = min(info.max_length if info.max_length is not None else MAX_ITEMS, max(low, MAX_ITEMS))
    first = _first_field(info.item_type)
    if first is not None:  # ids, line numbers, parties: unique within their list
        return st.lists(item, min_size=low, max_size=high, unique_by=lambda v: str(v.get(first)))
    return st.lists(item, min_size=low, max_size=high, unique_by=str)


def _first_field(info: mi.Type) -> str | None:
    while isinstance(info, mi.Metadata):
        info = info.type
    if isinstance(info, mi.StructType) and info.fields:
        return info.fields[0].encode_name
    return None


def _struct(info: mi.StructType) -> st.SearchStrategy[Raw]:
    cls = info.cls
    if cls in _BUILT:
        base = _BUILT[cls]()
    else:
        required = {f.encode_name: raw(f.type) for f in info.fields if f.required}
        optional = {f.encode_name: raw(f.type) for f in info.fields if not f.required}
        base = st.fixed_dictionaries(required, optional=optional)
        if info.tag_field is not None:
            tag_field, tag = info.tag_field, info.tag
            base = base.map(lambda d: {tag_field: tag, **d})
    fix = FIXUPS.get(cls, lambda value: value)
    return base.map(fix).filter(lambda value: _valid(value, cls))


def _valid(value: Raw, cls: type) -> bool:
    try:
        msgspec.convert(value, cls)
    except msgspec.ValidationError:
        return False
    return True


_SIMPLE: dict[type, Callable[[Any], st.SearchStrategy[Any]]] = {
    mi.StrType: _str,
    mi.IntType: _number,
    mi.FloatType: _number,
    mi.BoolType: lambda _: st.booleans(),
    mi.NoneType: lambda _: st.none(),
    mi.UUIDType: lambda _: st.uuids().map(str),
    mi.DateTimeType: lambda _: st.builds(aware, MOMENTS, st.sampled_from(OFFSETS)),
    mi.DateType: lambda _: st.dates().map(lambda d: d.isoformat()),
    mi.EnumType: lambda info: st.sampled_from([m.value for m in info.cls]),
    mi.LiteralType: lambda info: st.sampled_from(info.values),
    mi.StructType: _struct,
    mi.UnionType: lambda info: st.one_of([raw(t) for t in info.types]),
    mi.VarTupleType: _collection,
    mi.ListType: _collection,
    mi.SetType: _collection,
    mi.FrozenSetType: _collection,
}


def raw(info: mi.Type) -> st.SearchStrategy[Raw]:
    """Raw JSON data valid for ``info`` (constraints included, cross-field rules mostly)."""
    while isinstance(info, mi.Metadata):
        info = info.type
    build = _SIMPLE.get(type(info))
    if build is None:
        raise NotImplementedError(f"no strategy for {info!r}")
    return st.deferred(lambda: build(info))


@cache
def body_raw(tag: str) -> st.SearchStrategy[Raw]:
    return raw(mi.type_info(KINDS[tag]))


ADDRESSES = st.one_of(
    st.sampled_from(["ALL", "COALITION", "COMMISSION", "NATION:UKR", "ROLE:WATCH"]),
    _regex("[a-z0-9][a-z0-9._-]{1,20}"),
)


@st.composite
def envelope_raw(draw: st.DrawFn, tag: str) -> Raw:
    """A raw Envelope carrying a body of kind ``tag``, meeting the envelope's rules."""
    body = draw(body_raw(tag))
    kind = KINDS[tag]
    primary = draw(st.sampled_from(Precedence))
    action_to = draw(st.lists(ADDRESSES, min_size=1, max_size=MAX_ITEMS, unique=True))
    if kind is AttackAlert:
        primary, action_to = Precedence.FLASH, ["ALL"]
    info_to = [
        a for a in draw(st.lists(ADDRESSES, max_size=MAX_ITEMS, unique=True)) if a not in action_to
    ]
    created = draw(MOMENTS)
    ack_required = kind is TaskingOrder or draw(st.booleans())
    envelope: Raw = {
        "message_id": str(draw(st.uuids())),
        "traffic_type": draw(st.sampled_from(["OPERATION", "EXERCISE", "DRILL"])),
        "originator": draw(_regex("[a-z0-9][a-z0-9._-]{1,20}")),
        "action_to": action_to,
        "info_to": info_to,
        "primary_precedence": primary.value,
        "copy_precedence": draw(
            st.sampled_from([p for p in Precedence if p.rank <= primary.rank])
        ).value,
        "label": draw(_label()),
        "subject": draw(
            st.text(
                st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=200
            )
        ),
        "created_at": aware(created, draw(st.sampled_from(OFFSETS))),
        "released_at": aware(created + timedelta(seconds=draw(st.integers(0, 600)))),
        "ack_required": ack_required,
        "minimize_considered": draw(st.booleans()),
        "body": body,
    }
    if ack_required:
        envelope["ack_by"] = aware(created + timedelta(minutes=draw(st.integers(1, 10_000))))
    if draw(st.booleans()):
        envelope["expires_at"] = aware(created + timedelta(hours=draw(st.integers(1, 1000))))
    for name in ("in_reply_to", "supersedes"):
        if draw(st.booleans()):
            envelope[name] = str(draw(st.uuids()))
    if draw(st.booleans()):
        envelope["references"] = [str(u) for u in draw(st.lists(st.uuids(), max_size=MAX_ITEMS))]
    if draw(st.booleans()):
        envelope["correlation_id"] = draw(_regex("[a-z]{3}-[0-9]{4}"))
    return envelope


def envelopes(tag: str) -> st.SearchStrategy[Envelope]:
    return envelope_raw(tag).map(lambda value: msgspec.convert(value, Envelope))


def submissions(tag: str) -> st.SearchStrategy[Submission]:
    def to_submission(envelope: Raw) -> Submission:
        fields = {k: v for k, v in envelope.items() if k not in {"originator", "released_at"}}
        return msgspec.convert(fields, Submission)

    return envelope_raw(tag).map(to_submission)


def all_tags() -> list[str]:
    return sorted(KINDS)
