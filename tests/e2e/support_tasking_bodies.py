"""Realistic message bodies and small readers for the support / tasking scenarios (issue 7).

Bodies are plain JSON as a desk posts them to the gateway; the readers pick the messages a
scenario asserts on out of a desk's inbox, and wait for the gateway's queries (requests,
orders, tasks) to show a state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from full_cell import DEADLINE_S, Desk, FullCell, ahead, auth, iso

ALL_NATIONS = ("USA", "UKR", "FRA", "GBR", "DEU", "POL", "ITA", "CAN", "NLD")
HUB = {"name": "Rzeszow logistics hub", "contact": "J4 movements desk"}


# --- support ----------------------------------------------------------------------------------


def support_request(
    request_id: str, *, depot_draw_on: str | None = None, lines: dict[int, int] | None = None
) -> dict[str, Any]:
    items = {1: ("Interceptor missile, medium range", "EA"), 2: ("Launcher spares set", "SET")}
    body: dict[str, Any] = {
        "kind": "support.request.v1",
        "request_id": request_id,
        "request_kind": "DEPOT_DRAW" if depot_draw_on else "MATERIEL",
        "capability_area": "AIR_DEFENCE",
        "title": "Interceptors for the eastern air defence belt",
        "lines": [
            {"line_no": n, "item": items[n][0], "quantity": q, "unit": items[n][1]}
            for n, q in (lines or {1: 100, 2: 10}).items()
        ],
        "justification": "Sustained missile and drone strikes on energy infrastructure.",
        "priority_rank": 2,
        "urgency": "EMERGENCY" if depot_draw_on else "URGENT",
        "required_by": (datetime.now(UTC) + timedelta(days=30)).date().isoformat(),
        "delivery_point": HUB,
    }
    if depot_draw_on:
        body |= {"depot": "Pre-positioned stock, Depot North", "activating_alert": depot_draw_on}
    return body


def command(request_id: str, action: str, **fields: Any) -> dict[str, Any]:
    return {
        "kind": "support.action.v1",
        "request_id": request_id,
        "command": {"action": action, **fields},
    }


def offer(request_id: str, offer_id: str, lines: dict[int, int]) -> dict[str, Any]:
    available = (datetime.now(UTC) + timedelta(days=14)).date().isoformat()
    return {
        "kind": "support.offer.v1",
        "offer_id": offer_id,
        "request_id": request_id,
        "commitment": "FIRM",
        "lines": [
            {"line_no": n, "quantity": q, "available_by": available, "source": "national stock"}
            for n, q in lines.items()
        ],
        "conditions": "End-use monitoring under the bilateral agreement.",
    }


def consignment(
    request_id: str, consignment_id: str, offer_id: str, lines: dict[int, int]
) -> dict[str, Any]:
    return {
        "kind": "support.consignment.v1",
        "consignment_id": consignment_id,
        "request_id": request_id,
        "offer_id": offer_id,
        "status": "DISPATCHED",
        "lines": [{"line_no": n, "quantity": q} for n, q in lines.items()],
        "transport": "ROAD",
        "origin": "National depot",
        "destination": HUB,
        "dispatched_at": iso(datetime.now(UTC)),
        "eta": ahead(days=3),
        "tracking_ref": consignment_id.upper(),
    }


def received(lines: dict[int, int]) -> list[dict[str, int]]:
    return [{"line_no": n, "quantity": q} for n, q in lines.items()]


def statuses(desk: Desk, request_id: str) -> list[dict[str, Any]]:
    return [b for b in desk.bodies("support.status.v1") if b["request_id"] == request_id]


async def status(desk: Desk, request_id: str, state: str) -> dict[str, Any]:
    """The first RequestStatus of ``request_id`` in ``state`` the desk receives."""
    message = await desk.wait_for(
        lambda m: (
            m["body"]["kind"] == "support.status.v1"
            and m["body"]["request_id"] == request_id
            and m["body"]["state"] == state
        ),
        what=f"{request_id} {state}",
    )
    return dict(message["body"])


async def version(desk: Desk, request_id: str, number: int) -> dict[str, Any]:
    message = await desk.wait_for(
        lambda m: (
            m["body"]["kind"] == "support.status.v1"
            and m["body"]["request_id"] == request_id
            and m["body"]["version"] == number
        ),
        what=f"{request_id} v{number}",
    )
    return dict(message["body"])


# --- sending ----------------------------------------------------------------------------------


async def post(desk: Desk, submission: dict[str, Any]) -> dict[str, Any]:
    """Submit as a desk client does: on 503 (the broker slow to take it, e.g. a fresh topic's
    leader not elected yet) retry after the advised delay with the same message id."""
    async with asyncio.timeout(DEADLINE_S):
        while True:
            response = await desk.cell.client.post(
                "/v1/messages", json=submission, headers=auth(desk.id)
            )
            answer: dict[str, Any] = await response.json()
            if response.status != 503:
                assert response.status == 202, (desk.id, response.status, answer)
                return answer
            assert answer["message_id"] == submission["message_id"]
            await asyncio.sleep(min(float(answer.get("retry_after_s", 1)), 2.0))


# --- answers and refusals ---------------------------------------------------------------------


async def refusal(desk: Desk, submission: dict[str, Any]) -> dict[str, Any]:
    """The cell's refusal of one submission: a service's rejection or the router's report."""
    refused = submission["message_id"]
    message = await desk.wait_for(
        lambda m: (
            m["body"]["kind"] in {"notify.rejected.v1", "notify.non_delivery.v1"}
            and m["body"]["subject_message_id"] == refused
        ),
        what=f"refusal of {submission['body']['kind']} {refused}",
    )
    return dict(message["body"])


def lane_of(desk: Desk, message_id: str) -> str:
    lanes = [i["lane"] for i in desk.received if i["message"]["message_id"] == message_id]
    assert len(lanes) == 1, (desk.id, message_id, lanes)
    return str(lanes[0])


# --- tasking ----------------------------------------------------------------------------------


def task(task_id: str, nation: str, unit: str, task_type: str, domain: str) -> dict[str, Any]:
    return {
        "task_id": task_id,
        "nation": nation,
        "unit": unit,
        "domain": domain,
        "task_type": task_type,
        "purpose": "Reassure the population and deter renewed attacks on the ceasefire line.",
        "area": {"name": "Odesa approaches", "centre": {"lat": 46.3, "lon": 30.9}, "radius_m": 4e4},
        "window": {"start": ahead(minutes=30), "end": ahead(days=2)},
        "instructions": "Report contacts to the MNF-U maritime operations centre.",
    }


def tasking_order(order_id: str, tasks: list[dict[str, Any]], **frago: Any) -> dict[str, Any]:
    body = {
        "kind": "tasking.order.v1",
        "order_id": order_id,
        "order_type": "FRAGO" if frago else "OPORD",
        "operation_name": "SEA BREEZE GUARDIAN",
        "time_frame": {"start": ahead(minutes=30), "end": ahead(days=3)},
        "mission": "Maintain a multinational presence in the western Black Sea.",
        "tasks": tasks,
    }
    return body | frago


def task_status(
    order_id: str, task_id: str, unit: str, state: str, reason: str = ""
) -> dict[str, Any]:
    body = {
        "kind": "tasking.status.v1",
        "order_id": order_id,
        "task_id": task_id,
        "state": state,
        "unit": unit,
        "as_of": iso(datetime.now(UTC)),
    }
    return body | ({"reason": reason} if reason else {})


def acked(submission: dict[str, Any], seconds: float) -> dict[str, Any]:
    """The submission with an acknowledgement required within ``seconds``."""
    return submission | {"ack_required": True, "ack_by": ahead(seconds=seconds)}


# --- queries ----------------------------------------------------------------------------------


async def settled(
    cell: FullCell, desk_id: str, path: str, until: Callable[[Any], bool], **params: str
) -> Any:
    """A gateway query's answer once ``until`` accepts it: the views follow the state topics,
    so an answer may lag the last notice (404 before the entity is seen, 503 while loading)."""
    last: Any = None
    try:
        async with asyncio.timeout(DEADLINE_S):
            while True:
                response = await cell.client.get(path, params=params, headers=auth(desk_id))
                if response.status == 200:
                    last = await response.json()
                    if until(last):
                        return last
                else:
                    assert response.status in {404, 503}, (path, await response.text())
                await asyncio.sleep(0.3)
    except TimeoutError:
        raise AssertionError(f"{path} as {desk_id} never settled; last answer {last}") from None
