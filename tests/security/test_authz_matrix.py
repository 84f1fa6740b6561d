"""The authorization matrix (OWASP API1/API2/API5): every route against every kind of caller,
the expected status asserted; then no secret in the gateway's logs after this auth-heavy run.

Callers: no credentials, a bad token, a non-Bearer scheme, the originator of a message, its
recipient, an outsider, an exercise-only desk, a desk without the FLASH role. The gateway and
the router are real subprocesses; the gateway logs JSON at INFO to a file we read at the end.
"""

from __future__ import annotations

import asyncio
import hmac
import uuid
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from fault_cell import token_of
from fault_checker import record_figures
from fault_load import liaison
from secure_cell import SecureCell

from services.gateway import auth

pytestmark = pytest.mark.integration

ORIGIN, RECIPIENT, OUTSIDER, EXERCISE, NO_FLASH = (
    "usa.eucom",
    "ukr.gs",
    "fra.cell",
    "exr.train",
    "deu.bmvg",
)
BAD_TOKEN = "tok-forged-" + uuid.uuid4().hex
CALLERS: dict[str, dict[str, str]] = {
    "none": {},
    "bad_token": {"Authorization": f"Bearer {BAD_TOKEN}"},
    "basic": {"Authorization": "Basic dXNlcjpwYXNzd29yZA=="},
    **{d: {"Authorization": f"Bearer {token_of(d)}"} for d in (ORIGIN, RECIPIENT, OUTSIDER)},
    **{d: {"Authorization": f"Bearer {token_of(d)}"} for d in (EXERCISE, NO_FLASH)},
}
ANON = ("none", "bad_token", "basic")


def _all(status: int) -> dict[str, int]:
    return dict.fromkeys(CALLERS, status)


def _authed(**statuses: int) -> dict[str, int]:
    """401 for the anonymous callers; ``statuses`` keyed by desk id (dots as underscores)."""
    return dict.fromkeys(ANON, 401) | {k.replace("_", "."): v for k, v in statuses.items()}


def _desks(default: int, **overrides: int) -> dict[str, int]:
    desks = {d: default for d in CALLERS if d not in ANON}
    return _authed(**{k.replace(".", "_"): v for k, v in (desks | overrides).items()})


def _flash(to: str) -> dict[str, Any]:
    return liaison(to, precedence="FLASH")


Body = Callable[[], Any] | None
ROWS: list[Any] = [
    ("GET", "/healthz", None, _all(200)),
    ("GET", "/readyz", None, _all(200)),
    ("GET", "/metrics", None, _all(200)),
    ("GET", "/v1/openapi.json", None, _all(200)),
    ("GET", "/v1/docs", None, _all(200)),
    ("POST", "/v1/messages", lambda: liaison(OUTSIDER), _desks(202, exr_train=403)),
    (
        "POST",
        "/v1/messages",
        lambda: _flash(OUTSIDER),
        _desks(403, usa_eucom=202, ukr_gs=202),
    ),
    (
        "POST",
        "/v1/messages:batch",
        lambda: {"submissions": [liaison(OUTSIDER)]},
        _desks(202, exr_train=207),
    ),
    ("GET", "/v1/inbox?wait=0", None, _desks(200)),
    ("GET", "/v1/inbox?cursor={cursor}", None, _desks(403, ukr_gs=200)),
    ("GET", "/v1/messages/{mid}", None, _desks(404, usa_eucom=200, ukr_gs=200)),
    ("GET", f"/v1/messages/{uuid.uuid4()}", None, _desks(404)),
    # Only the recipient the message was delivered to may post a receipt (found by this
    # matrix: the router's audit records name no offset; the gateway now finds the copy).
    ("POST", "/v1/messages/{mid}/read", lambda: {"mode": "MANUAL"}, _desks(404, ukr_gs=202)),
    (
        "POST",
        "/v1/messages/{mid}/ack",
        lambda: {"response": "ACKNOWLEDGED"},
        _desks(404, ukr_gs=202),
    ),
    # Queries: every desk may ask; what it sees is filtered by its releasability, and an id
    # it may not see is as unknown as one that does not exist.
    ("GET", "/v1/incidents", None, _desks(200)),
    ("GET", "/v1/cases", None, _desks(200)),
    ("GET", "/v1/cases/case-unknown-1", None, _desks(404)),
    ("GET", "/v1/requests", None, _desks(200)),
    ("GET", "/v1/requests/req-unknown-1", None, _desks(404)),
    ("GET", "/v1/orders/ord-unknown-1", None, _desks(404)),
    ("GET", "/v1/tasks", None, _desks(200)),
    ("GET", "/v1/no-such-route", None, _desks(404)),
    ("DELETE", "/v1/messages", None, _desks(405)),
]


def _row_id(row: Any) -> str:
    method, path = (row.values if hasattr(row, "values") else row)[:2]
    return f"{method} {path.split('?')[0]}"


@pytest.fixture(scope="module")
def delivered() -> dict[str, str]:
    return {}


async def _message_and_cursor(secure: SecureCell) -> dict[str, str]:
    """A message ORIGIN -> RECIPIENT, delivered, and the recipient's cursor after it."""
    cell = secure.cell
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        item = liaison(RECIPIENT)
        async with http.post(
            secure.url + "/v1/messages", json=item, headers=cell.auth(ORIGIN)
        ) as response:
            assert response.status == 202, await response.text()
        async with asyncio.timeout(60):
            while True:
                async with http.get(
                    secure.url + "/v1/inbox",
                    params={"wait": "2"},
                    headers=cell.auth(RECIPIENT),
                ) as response:
                    page = await response.json()
                if any(m["message"]["message_id"] == item["message_id"] for m in page["messages"]):
                    return {"mid": item["message_id"], "cursor": page["cursor"]}


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    ROWS,
    ids=[_row_id(row) for row in ROWS],
)
async def test_route_against_every_caller(  # noqa: PLR0917 - parametrized row
    secure_cell: SecureCell,
    delivered: dict[str, str],
    method: str,
    path: str,
    body: Body,
    expected: dict[str, int],
) -> None:
    if not delivered:
        delivered |= await _message_and_cursor(secure_cell)
    url = secure_cell.url + path.format(**delivered)
    got = {}
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        for caller, headers in CALLERS.items():
            async with http.request(
                method, url, json=body() if body else None, headers=headers
            ) as response:
                text = await response.text()
                got[caller] = response.status
                if response.status == 401:
                    assert response.headers["WWW-Authenticate"].startswith("Bearer")
                    assert "problem+json" in response.headers["Content-Type"], text
    assert got == expected


async def test_websocket_upgrade_requires_credentials(secure_cell: SecureCell) -> None:
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        for caller, headers in CALLERS.items():
            if caller in ANON:
                with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                    await http.ws_connect(secure_cell.url + "/v1/stream", headers=headers)
                assert refused.value.status == 401
            else:
                ws = await http.ws_connect(secure_cell.url + "/v1/stream", headers=headers)
                await ws.close()
        # Another desk's cursor is refused before the upgrade.
        mine = await _message_and_cursor(secure_cell)
        with pytest.raises(aiohttp.WSServerHandshakeError) as foreign:
            await http.ws_connect(
                secure_cell.url + "/v1/stream",
                params={"cursor": mine["cursor"]},
                headers=CALLERS[OUTSIDER],
            )
        assert foreign.value.status == 403


def test_tokens_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str]] = []
    original = hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        calls.append((a, b))
        return original(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    from secure_cell import security_registry  # noqa: PLC0415 - the module's own registry

    registry = security_registry()
    assert auth.desk_for_token(registry, token_of(RECIPIENT)) is not None
    assert auth.desk_for_token(registry, BAD_TOKEN) is None
    assert calls, "the stored digest must be checked with hmac.compare_digest"
    assert all(len(a) == len(b) == 64 for a, b in calls)  # digests, never clear tokens


async def test_no_secret_in_logs(secure_cell: SecureCell) -> None:
    """Runs after the matrix (file order): every token and cursor secret it used is absent."""
    # One more burst of failed logins to be sure failures are logged too.
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        for i in range(50):
            headers = {"Authorization": f"Bearer {BAD_TOKEN}-{i}"}
            async with http.get(secure_cell.url + "/v1/inbox", headers=headers) as response:
                assert response.status == 401
    log = secure_cell.gateway.log.read_text()
    assert '"status":401' in log.replace(" ", "") or "401" in log, "auth failures are logged"
    secrets = [token_of(d.id) for d in secure_cell.cell.registry.desks] + [
        BAD_TOKEN,
        "fault-cursor-secret",
        "dXNlcjpwYXNzd29yZA==",
    ]
    leaked = [s for s in secrets if s in log]
    record_figures(
        "9-secrets-in-logs",
        order=12,
        title="No secret in gateway logs",
        load=f"authorization matrix ({len(ROWS)} routes x {len(CALLERS)} callers) + 50 "
        "failed logins",
        faults="bad, forged and non-Bearer credentials",
        lost=None,
        unexpected=len(leaked),
        notes=f"{len(log.splitlines())} JSON log lines scanned for {len(secrets)} secrets: "
        f"{len(leaked)} found",
    )
    assert not leaked
