"""The in-memory views: latest answer per key, with the secondary indexes the queries use.

Pure data structures (no I/O), filled by ``views.py`` from the compacted state topics.

Expected sizes (what bounds memory): the cell sees tens to a few hundred incidents a day,
so about 100,000 over a year of ceasefire (an entry is ~1 KB: the answer without the member
observations); cases are hundreds, support requests a few thousand (a few KB each with
history), orders hundreds with at most 200 tasks each. Every table is capped at
``max_entries`` keys (setting ``views_max_entries``, default 100,000): a new key past the cap
is refused and counted, never silently evicted (an answer must not quietly lose a record).
Deletes (tombstones) free their slot. A whole rebuild holds two states for its duration.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Generic, TypeVar

from schemas.common import TrafficType
from schemas.labels import SecurityLabel
from services.gateway.queries.answers import CaseAnswer, IncidentAnswer, OrderAnswer, RequestAnswer

T = TypeVar("T")

# An incident window longer than this is kept out of the day buckets and checked by every
# time query (monitoring refuses windows much longer than a day: such entries are rare).
MAX_DAYS_BUCKETED = 31
_LONG = "long"


@dataclass(frozen=True, slots=True)
class Visible(Generic[T]):
    """An answer with what decides who may see it (the record's label and traffic type)."""

    label: SecurityLabel
    traffic_type: TrafficType
    answer: T


IndexFn = Callable[[T], Iterable[Hashable]]


class Table(Generic[T]):
    """Latest entry per key, with secondary indexes value -> keys kept in step."""

    def __init__(self, max_entries: int, indexes: Mapping[str, IndexFn[T]] | None = None) -> None:
        self.max_entries = max_entries
        self._items: dict[str, Visible[T]] = {}
        self._fns = dict(indexes or {})
        self._index: dict[str, dict[Hashable, set[str]]] = {name: {} for name in self._fns}
        self._indexed: dict[str, dict[str, tuple[Hashable, ...]]] = {n: {} for n in self._fns}

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: str) -> Visible[T] | None:
        return self._items.get(key)

    def items(self) -> Iterable[tuple[str, Visible[T]]]:
        return self._items.items()

    def put(self, key: str, entry: Visible[T]) -> bool:
        """Store ``entry`` under ``key``; False (nothing changed) when the table is full."""
        if key not in self._items and len(self._items) >= self.max_entries:
            return False
        self._unindex(key)
        self._items[key] = entry
        for name, fn in self._fns.items():
            values = tuple(dict.fromkeys(fn(entry.answer)))
            self._indexed[name][key] = values
            for value in values:
                self._index[name].setdefault(value, set()).add(key)
        return True

    def delete(self, key: str) -> bool:
        self._unindex(key)
        return self._items.pop(key, None) is not None

    def keys_where(self, index: str, value: Hashable) -> set[str]:
        return set(self._index[index].get(value, ()))

    def index_values(self, index: str) -> list[Hashable]:
        return list(self._index[index])

    def _unindex(self, key: str) -> None:
        for name, indexed in self._indexed.items():
            for value in indexed.pop(key, ()):
                keys = self._index[name][value]
                keys.discard(key)
                if not keys:
                    del self._index[name][value]


# --- incidents: day buckets -----------------------------------------------------------------


def incident_days(answer: IncidentAnswer) -> Iterable[Hashable]:
    first, last = answer.window.start.date(), answer.window.end.date()
    days = (last - first).days + 1
    if days > MAX_DAYS_BUCKETED:
        return (_LONG,)
    return [first + timedelta(days=n) for n in range(days)]


def overlaps(
    start: datetime, end: datetime, since: datetime | None, until: datetime | None
) -> bool:
    """Closed intervals [start, end] and [since, until] (an open bound is unbounded)."""
    return (until is None or start <= until) and (since is None or end >= since)


@dataclass(frozen=True, slots=True)
class BBox:
    """WGS84 box; ``min_lon > max_lon`` crosses the antimeridian (RFC 7946 §5.2)."""

    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float

    def contains(self, lon: float, lat: float) -> bool:
        if not self.min_lat <= lat <= self.max_lat:
            return False
        if self.min_lon <= self.max_lon:
            return self.min_lon <= lon <= self.max_lon
        return lon >= self.min_lon or lon <= self.max_lon


def incident_keys_between(
    table: Table[IncidentAnswer], since: datetime | None, until: datetime | None
) -> Iterator[str]:
    """Keys of incidents that may overlap [since, until]: the day buckets in range plus the
    long windows; callers check the exact overlap."""
    if since is None or until is None:
        yield from (key for key, _ in table.items())
        return
    first, last = since.date(), until.date()
    buckets = table.index_values("day")
    if (last - first).days + 1 <= len(buckets):
        days: Iterable[Hashable] = (
            first + timedelta(days=n) for n in range((last - first).days + 1)
        )
    else:  # a range longer than the buckets present: walk the buckets instead
        days = (d for d in buckets if isinstance(d, date) and first <= d <= last)
    seen: set[str] = set()
    for day in [*days, _LONG]:
        for key in table.keys_where("day", day):
            if key not in seen:
                seen.add(key)
                yield key


# --- the four views ---------------------------------------------------------------------------


def case_states(answer: CaseAnswer) -> Iterable[Hashable]:
    return (answer.case.state,)


def request_areas(answer: RequestAnswer) -> Iterable[Hashable]:
    area = answer.summary.capability_area
    return () if area is None else (area,)


@dataclass
class ViewState:
    """One complete materialisation of the four state topics."""

    max_entries: int
    incidents: Table[IncidentAnswer] = field(init=False)
    cases: Table[CaseAnswer] = field(init=False)
    requests: Table[RequestAnswer] = field(init=False)
    orders: Table[OrderAnswer] = field(init=False)

    def __post_init__(self) -> None:
        cap = self.max_entries
        self.incidents = Table(cap, {"day": incident_days})
        self.cases = Table(cap, {"state": case_states})
        self.requests = Table(cap, {"area": request_areas})
        self.orders = Table(
            cap,
            {
                "nation": lambda o: (t.nation for t in o.tasks),
                "state": lambda o: (t.state for t in o.tasks),
                "domain": lambda o: (t.domain for t in o.tasks),
            },
        )

    def sizes(self) -> dict[str, int]:
        return {
            "incidents": len(self.incidents),
            "cases": len(self.cases),
            "requests": len(self.requests),
            "orders": len(self.orders),
        }
