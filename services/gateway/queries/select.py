"""The queries over a ``ViewState``, each filtered by the asking desk's releasability. Pure.

A desk sees an entry only when the router would deliver it a message with the entry's label
and traffic type (``services.router.guard.may_see``: clearance, REL TO, restrictive
categories, exercise traffic). Filtering happens before sorting and ``limit``, so counts
never include what the desk may not see, and a single item it may not see is None (the
route answers 404 exactly as for an unknown id). Orders are stable: lists sort by a total
key ending with the id.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from schemas.desks import Desk
from schemas.kinds.commission import CaseState
from schemas.kinds.support import TERMINAL_REQUEST_STATES, CapabilityArea
from schemas.kinds.tasking import TaskDomain, TaskState
from services.gateway.queries.answers import (
    AreaTotals,
    CaseList,
    IncidentList,
    RequestList,
    RequestSummary,
    TaskAnswer,
    TaskList,
    Totals,
)
from services.gateway.queries.convert import case_summary, sum_totals
from services.gateway.queries.index import (
    BBox,
    Table,
    ViewState,
    Visible,
    incident_keys_between,
    overlaps,
)
from services.router.guard import may_see

T = TypeVar("T")


def _sees(desk: Desk, entry: Visible[T]) -> bool:
    return may_see(desk, entry.label, entry.traffic_type)


def _entries(table: Table[T], keys: set[str] | None) -> list[Visible[T]]:
    """Every entry, or those under ``keys`` (an index lookup), without a full scan then."""
    if keys is None:
        return [entry for _, entry in table.items()]
    return [entry for key in keys if (entry := table.get(key)) is not None]


def one(table: Table[T], key: str, desk: Desk) -> T | None:
    """The entry under ``key`` if the desk may see it; None for unknown and hidden alike."""
    entry = table.get(key)
    return entry.answer if entry is not None and _sees(desk, entry) else None


@dataclass(frozen=True, slots=True)
class IncidentQuery:
    since: datetime | None
    until: datetime | None
    bbox: BBox | None
    limit: int


def incidents(state: ViewState, desk: Desk, query: IncidentQuery) -> IncidentList:
    table = state.incidents
    found = []
    for key in incident_keys_between(table, query.since, query.until):
        entry = table.get(key)
        if entry is None:
            continue
        answer = entry.answer
        if (
            overlaps(answer.window.start, answer.window.end, query.since, query.until)
            and (
                query.bbox is None or query.bbox.contains(answer.location.lon, answer.location.lat)
            )
            and _sees(desk, entry)
        ):
            found.append(answer)
    found.sort(key=lambda a: (a.window.start, a.incident_id))
    return IncidentList(
        incidents=tuple(found[: query.limit]),
        total=len(found),
        truncated=len(found) > query.limit,
    )


def cases(state: ViewState, desk: Desk, case_state: CaseState | None, limit: int) -> CaseList:
    table = state.cases
    keys = table.keys_where("state", case_state) if case_state is not None else None
    found = [case_summary(e.answer) for e in _entries(table, keys) if _sees(desk, e)]
    found.sort(key=lambda c: (c.opened_at, c.case_id))
    return CaseList(cases=tuple(found[:limit]), total=len(found), truncated=len(found) > limit)


def _rank(summary: RequestSummary) -> tuple[bool, int, str]:
    # Ukraine's own priority ranking first (1 = most pressing); unranked last; then the id.
    rank = summary.priority_rank
    return (rank is None, rank or 0, summary.request_id)


def requests(
    state: ViewState, desk: Desk, *, open_only: bool, area: CapabilityArea | None, limit: int
) -> RequestList:
    table = state.requests
    keys = table.keys_where("area", area) if area is not None else None
    found = [
        entry.answer.summary
        for entry in _entries(table, keys)
        if not (open_only and entry.answer.summary.state in TERMINAL_REQUEST_STATES)
        and _sees(desk, entry)
    ]
    found.sort(key=_rank)
    per_area: dict[CapabilityArea, list[Totals]] = defaultdict(list)
    for summary in found:
        if summary.capability_area is not None:
            per_area[summary.capability_area].append(summary.totals)
    areas = tuple(
        AreaTotals(capability_area=a, requests=len(totals), totals=sum_totals(totals))
        for a, totals in sorted(per_area.items())
    )
    return RequestList(
        requests=tuple(found[:limit]), areas=areas, total=len(found), truncated=len(found) > limit
    )


@dataclass(frozen=True, slots=True)
class TaskQuery:
    nation: str | None
    status: TaskState | None
    domain: TaskDomain | None
    limit: int


def tasks(state: ViewState, desk: Desk, query: TaskQuery) -> TaskList:
    table = state.orders
    keys: set[str] | None = None
    for index, value in (
        ("nation", query.nation),
        ("state", query.status),
        ("domain", query.domain),
    ):
        if value is not None:
            matched = table.keys_where(index, value)
            keys = matched if keys is None else keys & matched
    found: list[TaskAnswer] = []
    for entry in _entries(table, keys):
        if not _sees(desk, entry):
            continue
        found += [
            task
            for task in entry.answer.tasks
            if (query.nation is None or task.nation == query.nation)
            and (query.status is None or task.state is query.status)
            and (query.domain is None or task.domain is query.domain)
        ]
    found.sort(key=lambda t: (t.order_id, t.task_id))
    limit = query.limit
    return TaskList(tasks=tuple(found[:limit]), total=len(found), truncated=len(found) > limit)
