"""The gateway's OpenAPI 3.1 document, generated from the routes and their msgspec types.

Route modules add each route through ``route(app, Operation(...), handler)``, which puts it
on the router and in the app's ``OpenApiRegistry`` at once, so the document cannot list a
route the app does not serve or miss one it does. Schemas come from the same msgspec
structs the handlers decode and encode (``msgspec.json.schema_components``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec
from aiohttp import web

from services.gateway import keys
from services.gateway.problems import PROBLEM_JSON, ProblemDocument

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
JSON = "application/json"
_REF = "#/components/schemas/{name}"


@dataclass(frozen=True, kw_only=True)
class Parameter:
    name: str
    location: Literal["query", "path", "header"]
    description: str
    schema: Mapping[str, Any]
    required: bool = False


@dataclass(frozen=True, kw_only=True)
class Response:
    status: int
    description: str
    type: Any = None  # a msgspec-describable type, or None for no body
    media_type: str = JSON
    headers: Mapping[str, str] = field(default_factory=dict)  # name -> description


@dataclass(frozen=True, kw_only=True)
class Operation:
    method: str
    path: str
    operation_id: str
    summary: str
    description: str = ""
    tags: tuple[str, ...] = ()
    request: Any = None
    responses: tuple[Response, ...] = ()
    problems: tuple[int, ...] = ()  # statuses answered with problem+json
    parameters: tuple[Parameter, ...] = ()
    secured: bool = True


_PROBLEM_TEXT = {
    400: "Malformed request (not JSON, bad cursor, bad parameter).",
    401: "Missing or invalid credentials.",
    403: "The desk may not do this.",
    404: "No such resource, or not visible to this desk.",
    405: "Method not allowed on this path.",
    409: "Conflicts with the current state.",
    413: "Body (or batch) larger than the gateway accepts.",
    415: "Content-Type must be application/json.",
    422: "Validation failed; `errors` names each field path.",
    429: "Per-desk rate limit exceeded; see Retry-After.",
    503: "Unavailable; see Retry-After and `code`: `overloaded` (the gateway has as many "
    "submissions in flight as it admits for that precedence: refused at once, nothing was "
    "sent; FLASH and IMMEDIATE keep a reserved share), `broker_unavailable` (Kafka did not "
    "acknowledge a write in time), `too_many_connections`, or the query views have not "
    "caught up.",
}
_RETRY_AFTER = {429, 503}


class OpenApiRegistry:
    def __init__(self, *, title: str, version: str, description: str = "") -> None:
        self.title = title
        self.version = version
        self.description = description
        self.operations: list[Operation] = []
        self.public_paths: set[str] = set()  # paths served without credentials

    def add(self, operation: Operation) -> None:
        if any(
            (op.method, op.path) == (operation.method, operation.path)
            or op.operation_id == operation.operation_id
            for op in self.operations
        ):
            raise ValueError(f"operation {operation.operation_id} registered twice")
        self.operations.append(operation)
        if not operation.secured:
            self.public_paths.add(operation.path)

    def document(self) -> dict[str, Any]:
        types: list[Any] = [ProblemDocument]
        for op in self.operations:
            if op.request is not None:
                types.append(op.request)
            types += [r.type for r in op.responses if r.type is not None]
        schemas, components = msgspec.json.schema_components(types, ref_template=_REF)
        schema_of = dict(zip(map(_type_key, types), schemas, strict=True))
        paths: dict[str, dict[str, Any]] = {}
        for op in self.operations:
            paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, schema_of)
        return {
            "openapi": "3.1.0",
            "info": {"title": self.title, "version": self.version, "description": self.description},
            "servers": [{"url": "/"}],
            "paths": paths,
            "components": {
                "schemas": components,
                "securitySchemes": {
                    "bearer": {"type": "http", "scheme": "bearer", "description": "Desk token"},
                    "mutualTLS": {
                        "type": "mutualTLS",
                        "description": "Client certificate whose subject is a desk's cert_subject",
                    },
                },
            },
        }


def _type_key(t: object) -> str:
    return repr(t)


def _operation(op: Operation, schema_of: Mapping[str, Any]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for r in op.responses:
        entry: dict[str, Any] = {"description": r.description}
        if r.type is not None:
            entry["content"] = {r.media_type: {"schema": schema_of[_type_key(r.type)]}}
        if r.headers:
            entry["headers"] = {
                name: {"description": text, "schema": {"type": "string"}}
                for name, text in r.headers.items()
            }
        responses[str(r.status)] = entry
    statuses = set(op.problems) | ({401} if op.secured else set())
    problem_schema = schema_of[_type_key(ProblemDocument)]
    for status in sorted(statuses):
        entry = {
            "description": _PROBLEM_TEXT.get(status, "Problem."),
            "content": {PROBLEM_JSON: {"schema": problem_schema}},
        }
        if status in _RETRY_AFTER:
            entry["headers"] = {
                "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}
            }
        responses[str(status)] = entry
    result: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "responses": responses,
        "security": [{"bearer": []}, {"mutualTLS": []}] if op.secured else [],
    }
    if op.description:
        result["description"] = op.description
    if op.tags:
        result["tags"] = list(op.tags)
    if op.parameters:
        result["parameters"] = [
            {
                "name": p.name,
                "in": p.location,
                "description": p.description,
                "required": p.required or p.location == "path",
                "schema": dict(p.schema),
            }
            for p in op.parameters
        ]
    if op.request is not None:
        result["requestBody"] = {
            "required": True,
            "content": {JSON: {"schema": schema_of[_type_key(op.request)]}},
        }
    return result


def route(app: web.Application, operation: Operation, handler: Handler) -> None:
    """Serve ``handler`` and document it, in one step."""
    app[keys.OPENAPI].add(operation)
    app.router.add_route(operation.method, operation.path, handler)
