"""The query routes: authenticated GETs answered from the state views.

Every answer is filtered by the asking desk's releasability (``select.py``); a single item
the desk may not see is a 404 exactly like an unknown id, so an answer never confirms that
something exists. Until the views have caught up with the state topics the routes answer
503 ``views_unavailable`` with Retry-After, without waiting.
"""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web

from schemas.kinds.commission import CaseState
from schemas.kinds.support import CapabilityArea
from schemas.kinds.tasking import TaskDomain, TaskState
from services.gateway import keys
from services.gateway.openapi import Operation, Parameter, Response, route
from services.gateway.problems import Problem
from services.gateway.queries import params, select
from services.gateway.queries.answers import (
    CaseAnswer,
    CaseList,
    IncidentList,
    OrderAnswer,
    RequestAnswer,
    RequestList,
    TaskList,
)
from services.gateway.queries.index import ViewState
from services.gateway.queries.views import StateViews

VIEWS: web.AppKey[StateViews] = web.AppKey("state_views", StateViews)
_ENCODER = msgspec.json.Encoder()
_TAG = ("query",)


def _json(body: msgspec.Struct) -> web.Response:
    return web.Response(body=_ENCODER.encode(body), content_type="application/json")


def _state(request: web.Request) -> ViewState:
    state = request.app[VIEWS].state
    if state is None:
        raise Problem(
            503,
            "views_unavailable",
            "the gateway has not finished reading the state topics; retry shortly",
            retry_after_s=request.app[keys.SETTINGS].retry_after_s,
        )
    return state


def _not_found(what: str, key: str) -> Problem:
    # The same answer whether the id is unknown or the desk may not see it.
    return Problem(404, "not_found", f"no {what} {key!r} visible to this desk")


async def list_incidents(request: web.Request) -> web.Response:
    desk = keys.desk_of(request)
    query = request.query
    since, until = params.time_range(query)
    spec = select.IncidentQuery(
        since=since, until=until, bbox=params.bbox(query), limit=params.limit(query)
    )
    return _json(select.incidents(_state(request), desk, spec))


async def get_case(request: web.Request) -> web.Response:
    desk = keys.desk_of(request)
    case_id = request.match_info["case_id"]
    answer = select.one(_state(request).cases, case_id, desk)
    if answer is None:
        raise _not_found("case", case_id)
    return _json(answer)


async def list_cases(request: web.Request) -> web.Response:
    desk = keys.desk_of(request)
    state = params.choice(request.query, "state", CaseState)
    limit = params.limit(request.query)
    return _json(select.cases(_state(request), desk, state, limit))


async def get_request(request: web.Request) -> web.Response:
    desk = keys.desk_of(request)
    request_id = request.match_info["request_id"]
    answer = select.one(_state(request).requests, request_id, desk)
    if answer is None:
        raise _not_found("request", request_id)
    return _json(answer)


async def list_requests(request: web.Request) -> web.Response:
    desk = keys.desk_of(request)
    query = request.query
    open_only = params.boolean(query, "open", default=True)
    area = params.choice(query, "area", CapabilityArea)
    limit = params.limit(query)
    return _json(
        select.requests(_state(request), desk, open_only=open_only, area=area, limit=limit)
    )


async def get_order(request: web.Request) -> web.Response:
    desk = keys.desk_of(request)
    order_id = request.match_info["order_id"]
    answer = select.one(_state(request).orders, order_id, desk)
    if answer is None:
        raise _not_found("order", order_id)
    return _json(answer)


async def list_tasks(request: web.Request) -> web.Response:
    desk = keys.desk_of(request)
    query = request.query
    spec = select.TaskQuery(
        nation=params.nation(query),
        status=params.choice(query, "status", TaskState),
        domain=params.choice(query, "domain", TaskDomain),
        limit=params.limit(query),
    )
    return _json(select.tasks(_state(request), desk, spec))


# --- OpenAPI --------------------------------------------------------------------------------


def _query(name: str, description: str, schema: dict[str, Any]) -> Parameter:
    return Parameter(name=name, location="query", description=description, schema=schema)


def _path(name: str, description: str) -> Parameter:
    schema = {"type": "string", "minLength": 1, "maxLength": 200}
    return Parameter(name=name, location="path", description=description, schema=schema)


_LIMIT = _query("limit", "Most items to return", params.LIMIT_SCHEMA)
_UNAVAILABLE = (
    " 503 `views_unavailable` (with Retry-After) until the gateway has read the state "
    "topics up to their end at its start."
)
_FILTERED = " Only what the desk's clearance, nation (REL TO), categories and exercise "
_FILTERED += "setting allow is returned."
_HIDDEN = " An unknown id and one the desk may not see are both 404."


def _operation(  # noqa: PLR0917 - the fields of one OpenAPI operation, in order
    path: str,
    operation_id: str,
    summary: str,
    description: str,
    answer: Any,  # noqa: ANN401 - a msgspec Struct type
    parameters: tuple[Parameter, ...],
    problems: tuple[int, ...],
) -> Operation:
    return Operation(
        method="GET",
        path=path,
        operation_id=operation_id,
        summary=summary,
        description=description + _FILTERED + _UNAVAILABLE,
        tags=_TAG,
        parameters=parameters,
        responses=(Response(status=200, description="Answer", type=answer),),
        problems=problems,
    )


def setup(app: web.Application) -> None:
    operations = [
        (
            _operation(
                "/v1/incidents",
                "listIncidents",
                "Incidents overlapping a time range inside a bounding box",
                "Incidents whose time window overlaps [since, until] and whose location lies "
                "in `bbox`, oldest first.",
                IncidentList,
                (
                    _query("since", "Range start (RFC 3339, with offset)", params.DATETIME_SCHEMA),
                    _query("until", "Range end (RFC 3339, with offset)", params.DATETIME_SCHEMA),
                    _query(
                        "bbox",
                        "minLon,minLat,maxLon,maxLat (WGS84; minLon > maxLon crosses the "
                        "antimeridian)",
                        params.BBOX_SCHEMA,
                    ),
                    _LIMIT,
                ),
                (400, 503),
            ),
            list_incidents,
        ),
        (
            _operation(
                "/v1/cases",
                "listCases",
                "Breach cases, optionally in one state",
                "Cases by opening time.",
                CaseList,
                (_query("state", "Case state", params.enum_schema(CaseState)), _LIMIT),
                (400, 503),
            ),
            list_cases,
        ),
        (
            _operation(
                "/v1/cases/{case_id}",
                "getCase",
                "A breach case with its history and each member's position",
                "The case snapshot, every accepted action in order (actor, from/to state, "
                "version, time) and each member's latest position." + _HIDDEN,
                CaseAnswer,
                (_path("case_id", "The case id"),),
                (404, 503),
            ),
            get_case,
        ),
        (
            _operation(
                "/v1/requests",
                "listRequests",
                "Support requests (open ones by default) with quantity totals",
                "Requests ranked by Ukraine's priority, with requested / offered / committed "
                "/ delivered totals per request and summed per capability area. Open means "
                "not CLOSED, CANCELLED, REJECTED or SUPERSEDED.",
                RequestList,
                (
                    _query("open", "Only open requests", params.BOOLEAN_SCHEMA),
                    _query("area", "Capability area", params.enum_schema(CapabilityArea)),
                    _LIMIT,
                ),
                (400, 503),
            ),
            list_requests,
        ),
        (
            _operation(
                "/v1/requests/{request_id}",
                "getRequest",
                "A support request's status, lines and history",
                "Per-line requested / offered / committed / delivered quantities, the offers "
                "and consignments behind them and every applied step in order." + _HIDDEN,
                RequestAnswer,
                (_path("request_id", "The request id"),),
                (404, 503),
            ),
            get_request,
        ),
        (
            _operation(
                "/v1/orders/{order_id}",
                "getOrder",
                "A tasking order with its tasks and their statuses",
                "Tasks at their latest version (FRAGOs applied) and the order's history." + _HIDDEN,
                OrderAnswer,
                (_path("order_id", "The order id"),),
                (404, 503),
            ),
            get_order,
        ),
        (
            _operation(
                "/v1/tasks",
                "listTasks",
                "Tasks by nation, status and domain",
                "Tasks of every visible order matching all given filters, by order and task id.",
                TaskList,
                (
                    _query("nation", "Tasked nation (ISO 3166-1 alpha-3)", params.NATION_SCHEMA),
                    _query("status", "Task state", params.enum_schema(TaskState)),
                    _query("domain", "Task domain", params.enum_schema(TaskDomain)),
                    _LIMIT,
                ),
                (400, 503),
            ),
            list_tasks,
        ),
    ]
    for operation, handler in operations:
        route(app, operation, handler)
