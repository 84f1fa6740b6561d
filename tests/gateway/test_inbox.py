"""GET /v1/inbox against the real broker: precedence order, long-poll, cursors."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest
from inbox_support import envelope, router_stand_in

from schemas.precedence import Precedence
from services.gateway.inbox.fetch import CatchUpPool

pytestmark = pytest.mark.integration

P = Precedence


async def _inbox(client: Any, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    query = {k: str(v) for k, v in params.items()}
    response = await client.get("/v1/inbox", params=query, headers=headers)
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def _drain(
    client: Any, headers: dict[str, str], cursor: str | None, limit: int, count: int
) -> Any:
    """Page through ``count`` messages (long-polling while the gateway catches up), then
    check nothing more is pending; returns (messages, final cursor)."""
    messages: list[dict[str, Any]] = []
    while True:
        params: dict[str, Any] = {"limit": limit, "wait": 10 if len(messages) < count else 0}
        if cursor:
            params["cursor"] = cursor
        page = await _inbox(client, headers, **params)
        cursor = page["cursor"]
        if not page["messages"]:
            assert len(messages) >= count, "the long-poll ended without the expected messages"
            return messages, cursor
        messages += page["messages"]


async def _all_visible(client: Any, headers: dict[str, str], count: int) -> dict[str, Any]:
    """The first page from the start, once the gateway has all ``count`` messages."""
    async with asyncio.timeout(30):
        while True:
            page = await _inbox(client, headers, limit=50)
            if len(page["messages"]) >= count:
                return page
            await asyncio.sleep(0.1)


async def test_pending_messages_come_highest_precedence_first(
    gateway_client, auth, gateway_settings, gateway_desks
):
    lanes = [P.ROUTINE, P.PRIORITY, P.ROUTINE, P.FLASH, P.IMMEDIATE, P.FLASH]
    envelopes = [envelope(precedence=lane, to=("ukr.gs",)) for lane in lanes]
    async with router_stand_in(gateway_settings, gateway_desks) as router:
        await router.deliver("ukr.gs", envelopes)
    page = await _all_visible(gateway_client, auth("ukr.gs"), len(envelopes))
    got = [(m["lane"], m["message"]["message_id"]) for m in page["messages"]]
    by_lane = {
        lane: [str(e.message_id) for e in envelopes if e.primary_precedence is lane] for lane in P
    }
    expected = [
        (lane.value, mid)
        for lane in (P.FLASH, P.IMMEDIATE, P.PRIORITY, P.ROUTINE)
        for mid in by_lane[lane]
    ]
    assert got == expected
    first = page["messages"][0]
    assert first["type"] == "message"
    assert first["message"]["originator"] == "usa.eucom"
    assert first["message"]["body"]["kind"] == "liaison.message.v1"
    # Another desk sees none of it: there is no desk parameter, only authentication.
    assert (await _inbox(gateway_client, auth("fra.cell")))["messages"] == []


async def test_long_poll_waits_for_the_next_message(
    gateway_client, auth, gateway_settings, gateway_desks
):
    headers = auth("fra.cell")
    empty = await _inbox(gateway_client, headers, wait=0)
    assert empty["messages"] == []
    poll = asyncio.create_task(
        gateway_client.get(
            "/v1/inbox", params={"cursor": empty["cursor"], "wait": "20"}, headers=headers
        )
    )
    await asyncio.sleep(0.5)
    assert not poll.done()  # nothing pending: the request is held open
    flash = envelope(precedence=P.FLASH, to=("fra.cell",))
    async with router_stand_in(gateway_settings, gateway_desks) as router:
        await router.deliver("fra.cell", [flash])
    response = await asyncio.wait_for(poll, 30)
    assert response.status == 200
    page = await response.json()
    assert [m["message"]["message_id"] for m in page["messages"]] == [str(flash.message_id)]


async def test_resuming_from_cursors_skips_and_repeats_nothing(
    gateway_client, auth, gateway_settings, gateway_desks
):
    headers = auth("nld.def")
    first = [envelope(precedence=lane, to=("nld.def",)) for lane in (P.ROUTINE, P.FLASH) * 3]
    second = [envelope(precedence=lane, to=("nld.def",)) for lane in (P.PRIORITY, P.ROUTINE)]
    async with router_stand_in(gateway_settings, gateway_desks) as router:
        await router.deliver("nld.def", first)
        seen, cursor = await _drain(gateway_client, headers, None, limit=4, count=6)
        await router.deliver("nld.def", second[:1])
        await router.deliver("nld.def", second[1:])
    rest, _ = await _drain(gateway_client, headers, cursor, limit=1, count=2)
    ids = [m["message"]["message_id"] for m in seen + rest]
    assert sorted(ids) == sorted(str(e.message_id) for e in first + second)
    assert len(ids) == len(set(ids))
    assert [m["lane"] for m in seen] == ["FLASH"] * 3 + ["ROUTINE"] * 3
    # A per-message cursor resumes right after that message.
    middle = seen[2]["cursor"]
    after_middle, _ = await _drain(gateway_client, headers, middle, limit=10, count=5)
    # ... and what is pending from there comes again in precedence order.
    assert [m["lane"] for m in after_middle] == ["PRIORITY"] + ["ROUTINE"] * 4
    assert [m["message"]["message_id"] for m in after_middle] == [ids[6], *ids[3:6], ids[7]]


async def test_cursors_are_bound_to_their_desk_and_tamper_evident(gateway_client, auth):
    cursor = (await _inbox(gateway_client, auth("ukr.gs")))["cursor"]
    foreign = await gateway_client.get(
        "/v1/inbox", params={"cursor": cursor}, headers=auth("fra.cell")
    )
    assert foreign.status == 403
    problem = await foreign.json()
    assert foreign.content_type == "application/problem+json"
    assert problem["code"] == "cursor_not_yours"
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw[3] ^= 0x20
    tampered = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    for bad in (tampered, "not-a-cursor", cursor[:-2]):
        response = await gateway_client.get(
            "/v1/inbox", params={"cursor": bad}, headers=auth("ukr.gs")
        )
        assert response.status == 400, bad
        assert (await response.json())["code"] == "invalid_cursor"


async def test_bad_parameters_and_missing_credentials(gateway_client, auth):
    for params in ({"limit": "0"}, {"limit": "many"}, {"limit": "100000"}, {"wait": "-1"}):
        response = await gateway_client.get("/v1/inbox", params=params, headers=auth("ukr.gs"))
        assert response.status == 422, params
        assert (await response.json())["errors"][0]["path"] in {"limit", "wait"}
    assert (await gateway_client.get("/v1/inbox")).status == 401


async def test_catch_up_pool_reads_committed_records_from_any_offset(
    gateway_settings, gateway_desks
):
    envelopes = [envelope(precedence=P.PRIORITY, to=("cell.watch",)) for _ in range(5)]
    async with router_stand_in(gateway_settings, gateway_desks) as router:
        positions = await router.deliver("cell.watch", envelopes[:2])
        positions += await router.deliver("cell.watch", envelopes[2:])
    topic = positions[0][0]
    pool = CatchUpPool(gateway_settings, size=1)
    try:
        everything = await pool.read(topic, P.PRIORITY, 0, 100)
        assert [r.offset for r in everything] == [offset for _, offset in positions]
        # Transaction markers sit between the two batches: offsets are not contiguous.
        tail = await pool.read(topic, P.PRIORITY, positions[2][1], 2)
        assert [r.offset for r in tail] == [positions[2][1], positions[3][1]]
        assert await pool.read(topic, P.PRIORITY, positions[-1][1] + 1, 10) == []
    finally:
        await pool.aclose()
