"""Read receipts and operational acknowledgements: sealed messages on the submit lanes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from inbox_support import delivered, envelope, read_at, router_stand_in
from test_status import status_when_known

from schemas import codec
from schemas.audit import AuditRecord, Decision
from schemas.kinds.notifications import AckResponse, OperationalAck, ReadMode, ReadReceipt
from schemas.precedence import Precedence
from schemas.topics import submit_topic

pytestmark = pytest.mark.integration


async def _delivered_to_ukr(client, auth, settings, desks):
    original = envelope(originator="usa.eucom", to=("ukr.gs",), precedence=Precedence.IMMEDIATE)
    async with router_stand_in(settings, desks) as router:
        ((topic, offset),) = await router.deliver("ukr.gs", [original])
        await router.audit([delivered(original, "ukr.gs", topic, offset)])
    assert (await status_when_known(client, auth("usa.eucom"), original.message_id)).status == 200
    return original


async def test_read_receipt_goes_to_the_originator_with_the_original_label(
    gateway_client, auth, gateway_settings, gateway_desks
):
    original = await _delivered_to_ukr(gateway_client, auth, gateway_settings, gateway_desks)
    response = await gateway_client.post(
        f"/v1/messages/{original.message_id}/read",
        json={"mode": "AUTOMATIC"},
        headers=auth("ukr.gs"),
    )
    assert response.status == 202, await response.text()
    accepted = await response.json()
    assert accepted["subject_message_id"] == str(original.message_id)
    assert accepted["topic"] == submit_topic(
        Precedence.IMMEDIATE, prefix=gateway_settings.topic_prefix
    )
    record = await read_at(
        gateway_settings, accepted["topic"], accepted["partition"], accepted["offset"]
    )
    receipt = codec.decode(record.value)
    assert str(receipt.message_id) == accepted["message_id"]
    assert receipt.originator == "ukr.gs"
    assert receipt.action_to == ("usa.eucom",)
    assert receipt.label == original.label
    assert receipt.in_reply_to == original.message_id
    assert isinstance(receipt.body, ReadReceipt)
    assert receipt.body.subject_message_id == original.message_id
    assert receipt.body.reader == "ukr.gs"
    assert receipt.body.mode is ReadMode.AUTOMATIC
    assert codec.header_value(record.headers, codec.HEADER_KIND) == "notify.read"
    # A retry repeats the receipt's id, so the router delivers it once.
    again = await gateway_client.post(
        f"/v1/messages/{original.message_id}/read", headers=auth("ukr.gs")
    )
    assert again.status == 202
    assert (await again.json())["message_id"] == accepted["message_id"]


async def test_operational_ack_and_its_validation(
    gateway_client, auth, gateway_settings, gateway_desks
):
    original = await _delivered_to_ukr(gateway_client, auth, gateway_settings, gateway_desks)
    url = f"/v1/messages/{original.message_id}/ack"
    missing_reason = await gateway_client.post(
        url, json={"response": "CANNOT_COMPLY"}, headers=auth("ukr.gs")
    )
    assert missing_reason.status == 422
    assert (await missing_reason.json())["errors"][0]["path"] == "$.reason"
    bad = await gateway_client.post(url, json={"response": "MAYBE"}, headers=auth("ukr.gs"))
    assert bad.status == 422
    unknown_field = await gateway_client.post(
        url, json={"response": "ACKNOWLEDGED", "extra": 1}, headers=auth("ukr.gs")
    )
    assert unknown_field.status == 422
    no_body = await gateway_client.post(url, headers=auth("ukr.gs"))
    assert no_body.status == 422
    wrong_type = await gateway_client.post(
        url, data=b"response=ACKNOWLEDGED", headers=auth("ukr.gs") | {"Content-Type": "text/plain"}
    )
    assert wrong_type.status == 415
    response = await gateway_client.post(
        url,
        json={"response": "CANNOT_COMPLY", "reason": "No transport before D+2"},
        headers=auth("ukr.gs"),
    )
    assert response.status == 202, await response.text()
    accepted = await response.json()
    record = await read_at(
        gateway_settings, accepted["topic"], accepted["partition"], accepted["offset"]
    )
    ack = codec.decode(record.value)
    assert ack.originator == "ukr.gs"
    assert ack.action_to == ("usa.eucom",)
    assert ack.label == original.label
    assert isinstance(ack.body, OperationalAck)
    assert ack.body.response is AckResponse.CANNOT_COMPLY
    assert ack.body.reason == "No transport before D+2"


async def test_receipts_are_refused_to_desks_that_did_not_receive_the_message(
    gateway_client, auth, gateway_settings, gateway_desks
):
    original = await _delivered_to_ukr(gateway_client, auth, gateway_settings, gateway_desks)
    for desk in ("fra.cell", "usa.eucom"):  # a bystander, and the originator itself
        for action, body in (("read", {}), ("ack", {"response": "ACKNOWLEDGED"})):
            response = await gateway_client.post(
                f"/v1/messages/{original.message_id}/{action}", json=body, headers=auth(desk)
            )
            assert response.status == 404, (desk, action)
            assert (await response.json())["code"] == "not_found"
    response = await gateway_client.post(f"/v1/messages/{original.message_id}/read", json={})
    assert response.status == 401


async def test_a_contradicting_acknowledgement_is_409_and_a_repeat_is_accepted(
    gateway_client, auth, gateway_settings, gateway_desks
):
    original = await _delivered_to_ukr(gateway_client, auth, gateway_settings, gateway_desks)
    recorded = AuditRecord(
        message_id=original.message_id,
        originator=original.originator,
        decision=Decision.ACKNOWLEDGED,
        at=datetime.now(UTC),
        recipient="ukr.gs",
        detail="WILL_COMPLY",
    )
    async with router_stand_in(gateway_settings, gateway_desks) as router:
        await router.audit([recorded])
    async with asyncio.timeout(30):  # the gateway's audit view reads asynchronously
        while True:
            status = await (
                await gateway_client.get(
                    f"/v1/messages/{original.message_id}", headers=auth("ukr.gs")
                )
            ).json()
            if any(r["decision"] == "ACKNOWLEDGED" for r in status["records"]):
                break
            await asyncio.sleep(0.1)
    url = f"/v1/messages/{original.message_id}/ack"
    conflict = await gateway_client.post(
        url, json={"response": "CANNOT_COMPLY", "reason": "changed my mind"}, headers=auth("ukr.gs")
    )
    assert conflict.status == 409
    assert conflict.content_type == "application/problem+json"
    assert "WILL_COMPLY" in (await conflict.json())["detail"]
    repeat = await gateway_client.post(
        url, json={"response": "WILL_COMPLY"}, headers=auth("ukr.gs")
    )
    assert repeat.status == 202, await repeat.text()
