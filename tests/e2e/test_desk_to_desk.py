"""Desk to desk through the real gateway, router and broker (issue 5's first acceptance)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from e2e_desks import auth

pytestmark = pytest.mark.integration
DEADLINE_S = 60


def _submission(action_to: list[str], releasable_to: list[str]) -> dict[str, Any]:
    return {
        "traffic_type": "OPERATION",
        "action_to": action_to,
        "primary_precedence": "IMMEDIATE",
        "label": {
            "policy": "NATO",
            "classification": "NATO RESTRICTED",
            "releasable_to": releasable_to,
            "created_at": datetime.now(UTC).isoformat(),
        },
        "subject": "Heavy weapons withdrawal: verification visit at 0900Z",
        "body": {
            "kind": "liaison.message.v1",
            "text": "Request escort for the verification team at the Zaporizhzhia crossing.",
        },
    }


async def _inbox(client: Any, desk: str, count: int) -> list[dict[str, Any]]:
    """Long-poll the desk's inbox until `count` messages arrived (or the deadline)."""
    got: list[dict[str, Any]] = []
    cursor = None
    async with asyncio.timeout(DEADLINE_S):
        while len(got) < count:
            params = {"wait": "5", **({"cursor": cursor} if cursor else {})}
            response = await client.get("/v1/inbox", params=params, headers=auth(desk))
            assert response.status == 200, await response.text()
            page = await response.json()
            got += page["messages"]
            cursor = page["cursor"]
    return got


async def test_label_decides_who_gets_it_and_the_originator_gets_reports(cell):
    # B (ukr.gs) listens live before A (usa.eucom) sends.
    ws = await cell.ws_connect("/v1/stream", headers=auth("ukr.gs"))
    try:
        response = await cell.post(
            "/v1/messages",
            json=_submission(["ukr.gs", "fra.cell"], ["USA", "UKR"]),
            headers=auth("usa.eucom"),
        )
        assert response.status == 202, await response.text()
        message_id = (await response.json())["message_id"]

        async with asyncio.timeout(DEADLINE_S):
            frame = await ws.receive()
        assert frame.type is aiohttp.WSMsgType.TEXT, frame
        pushed = frame.json()
        assert pushed["message"]["message_id"] == message_id
        assert pushed["message"]["originator"] == "usa.eucom"
        assert pushed["lane"] == "IMMEDIATE"
    finally:
        await ws.close()

    reports = [m["message"] for m in await _inbox(cell, "usa.eucom", 2)]
    by_recipient = {r["body"]["recipient"]: r["body"] for r in reports}
    assert by_recipient["ukr.gs"]["kind"] == "notify.delivery.v1"
    assert by_recipient["fra.cell"]["kind"] == "notify.non_delivery.v1"
    assert by_recipient["fra.cell"]["reason"] == "LABEL_NOT_RELEASABLE"
    for report in reports:
        assert report["body"]["subject_message_id"] == message_id
        assert report["originator"] == "cell.router"
        assert "text" not in report["body"]  # a report carries no content

    # C (fra.cell) got nothing: its inbox stays empty after the reports were written.
    response = await cell.get("/v1/inbox", params={"wait": "2"}, headers=auth("fra.cell"))
    assert (await response.json())["messages"] == []
    # ... and the message's status does not exist for it.
    status = await cell.get(f"/v1/messages/{message_id}", headers=auth("fra.cell"))
    assert status.status == 404
