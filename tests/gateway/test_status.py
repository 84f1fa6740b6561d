"""GET /v1/messages/{id}: the audit view, shown to the parties of a message only."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from inbox_support import delivered, envelope, router_stand_in

from schemas.audit import AuditRecord, Decision
from schemas.kinds.notifications import NonDeliveryReason

pytestmark = pytest.mark.integration


async def status_when_known(client: Any, headers: dict[str, str], message_id: object) -> Any:
    """The status once the gateway's audit view has caught up (it reads asynchronously)."""
    async with asyncio.timeout(30):
        while True:
            response = await client.get(f"/v1/messages/{message_id}", headers=headers)
            if response.status != 404:
                return response
            await asyncio.sleep(0.1)


async def test_originator_sees_all_recipient_own_others_nothing(
    gateway_client, auth, gateway_settings, gateway_desks
):
    original = envelope(originator="usa.eucom", to=("ukr.gs",), info=("fra.cell", "nld.def"))
    now = datetime.now(UTC)
    async with router_stand_in(gateway_settings, gateway_desks) as router:
        ((ukr_topic, ukr_offset),) = await router.deliver("ukr.gs", [original])
        ((fra_topic, fra_offset),) = await router.deliver("fra.cell", [original])
        refused = AuditRecord(
            message_id=original.message_id,
            originator="usa.eucom",
            decision=Decision.REFUSED,
            at=now,
            recipient="nld.def",
            reason=NonDeliveryReason.CLEARANCE_INSUFFICIENT,
        )
        await router.audit(
            [
                delivered(original, "ukr.gs", ukr_topic, ukr_offset),
                delivered(original, "fra.cell", fra_topic, fra_offset),
                refused,
            ]
        )
    response = await status_when_known(gateway_client, auth("usa.eucom"), original.message_id)
    assert response.status == 200
    body = await response.json()
    assert body["message_id"] == str(original.message_id)
    assert body["originator"] == "usa.eucom"
    decisions = [(r["decision"], r["recipient"]) for r in body["records"]]
    assert decisions == [
        ("DELIVERED", "ukr.gs"),
        ("DELIVERED", "fra.cell"),
        ("REFUSED", "nld.def"),
    ]
    own = await (
        await gateway_client.get(f"/v1/messages/{original.message_id}", headers=auth("ukr.gs"))
    ).json()
    assert [(r["decision"], r["recipient"]) for r in own["records"]] == [("DELIVERED", "ukr.gs")]
    # A third desk, and a desk the message was refused to, cannot tell it exists.
    for desk in ("cell.watch", "nld.def"):
        response = await gateway_client.get(
            f"/v1/messages/{original.message_id}", headers=auth(desk)
        )
        assert response.status == 404, desk
        assert (await response.json())["code"] == "not_found"
    unknown = await gateway_client.get(f"/v1/messages/{uuid.uuid4()}", headers=auth("usa.eucom"))
    assert unknown.status == 404
    assert (
        await gateway_client.get("/v1/messages/not-a-uuid", headers=auth("usa.eucom"))
    ).status == 404
    assert (await gateway_client.get(f"/v1/messages/{original.message_id}")).status == 401
