"""Issue 7 acceptance through the gateway, with the whole cell running (tests/e2e/full_cell.py).

1. A UKR request validated by WATCH, partly matched by two donors (one withdraws a line),
   committed, delivered, confirmed and closed; every party told at each step, in version
   order; a non-donor offer, an out-of-order command and a late withdrawal refused by reason.
2. An order with three tasks to three nations: one completes, one declines with a reason, one
   stays silent and is reported overdue to FORCE_HQ and WATCH; a FRAGO changes the declined
   task and its assignee sees the new change number.
3. An AttackAlert reaches every desk at FLASH; the desks that stay silent are escalated to
   WATCH by name; a DEPOT_DRAW filed after it goes VALIDATED -> AUTHORISED with no sourcing.
4. Scenarios 1 and 2 again with the support and tasking services restarted, and once killed,
   mid-scenario: same outcomes, no status version twice.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from full_cell import DEADLINE_S, REGISTRY, FullCell, ago, auth, envelope, full_cell
from support_tasking_bodies import (
    ALL_NATIONS,
    acked,
    command,
    consignment,
    lane_of,
    offer,
    post,
    received,
    refusal,
    settled,
    status,
    statuses,
    support_request,
    task,
    task_status,
    tasking_order,
    version,
)

from schemas.roles import Role

pytestmark = pytest.mark.integration

REQUESTER, WATCH, HQ = "ukr.gs", "cell.watch", "cell.mnf-hq"
USA, GBR, FRA, POL = "usa.eucom", "gbr.pjhq", "fra.cell", "pol.mon"


def _id(stem: str) -> str:
    return f"{stem}-{uuid.uuid4().hex[:8]}"


async def _disrupt(cell: FullCell, name: str, *, crash: bool, restarts: bool) -> None:
    if not restarts:
        return
    if crash:
        await cell.kill(name)
        cell.start(name)
    else:
        await cell.restart(name)


# --- 1. support request lifecycle -------------------------------------------------------------


@pytest.mark.parametrize("restarts", [False, True], ids=["steady", "restarted"])
async def test_request_matched_by_two_donors_committed_delivered_closed(  # noqa: PLR0915 - one story
    kafka_bootstrap: str, *, restarts: bool
) -> None:
    async with full_cell(kafka_bootstrap) as cell:
        ukr, watch, usa, gbr = (cell.desk(d) for d in (REQUESTER, WATCH, USA, GBR))
        rid = _id("req-ukr-ad")

        await post(ukr, envelope(support_request(rid), to=[WATCH]))
        assert (await version(ukr, rid, 2))["state"] == "ACKNOWLEDGED"  # the service's receipt

        # Out of order: committing before sourcing is refused, by reason, state unchanged.
        early = envelope(command(rid, "COMMIT", offer_ids=["off-x"]), to=[REQUESTER])
        await post(watch, early)
        refused = await refusal(watch, early)
        assert refused["kind"] == "notify.rejected.v1"
        assert refused["code"] == "INVALID_TRANSITION"
        assert refused["current_state"] == "ACKNOWLEDGED"
        assert "COMMIT is not allowed in state ACKNOWLEDGED" in refused["detail"]

        # The requester may not validate its own request.
        self_validate = envelope(command(rid, "VALIDATE"), to=[WATCH])
        await post(ukr, self_validate)
        assert (await refusal(ukr, self_validate))["code"] == "NOT_AUTHORISED"

        await post(watch, envelope(command(rid, "VALIDATE", note="In scope"), to=[REQUESTER]))
        assert (await version(ukr, rid, 3))["state"] == "VALIDATED"
        solicit = command(rid, "START_SOURCING", solicit=[USA, GBR])
        await post(watch, envelope(solicit, to=[REQUESTER]))
        for desk in (ukr, usa, gbr):  # the solicited donors are told sourcing started
            assert (await version(desk, rid, 4))["state"] == "SOURCING"
        await _disrupt(cell, "support", crash=False, restarts=restarts)

        # A desk that is not a donor: the router refuses it before any service sees it.
        not_donor = envelope(offer(rid, "off-hq-1", {1: 5}), to=[REQUESTER])
        await post(cell.desk(HQ), not_donor)
        report = await refusal(cell.desk(HQ), not_donor)
        assert report["kind"] == "notify.non_delivery.v1"
        assert report["reason"] == "ORIGINATOR_NOT_AUTHORISED"

        await post(usa, envelope(offer(rid, "off-usa-1", {1: 60, 2: 4}), to=[REQUESTER]))
        partly = await version(ukr, rid, 5)
        assert partly["state"] == "PARTIALLY_MATCHED"
        await post(gbr, envelope(offer(rid, "off-gbr-1", {1: 30, 2: 3}), to=[REQUESTER]))
        both = await version(gbr, rid, 6)
        assert [(ln["pledged"], ln["requested"]) for ln in both["lines"]] == [(90, 100), (7, 10)]

        # Another donor may not withdraw GBR's offer; GBR withdraws its line 2 itself.
        foreign = envelope(command(rid, "WITHDRAW_OFFER", offer_id="off-gbr-1"), to=[WATCH])
        await post(usa, foreign)
        foreign_refusal = await refusal(usa, foreign)
        assert foreign_refusal["code"] == "NOT_AUTHORISED"
        assert "belongs to gbr.pjhq" in foreign_refusal["detail"]
        # A desk that is no donor at all reaches the service, which refuses it by reason.
        requester_pull = envelope(command(rid, "WITHDRAW_OFFER", offer_id="off-usa-1"), to=[WATCH])
        await post(cell.desk("ukr.mod"), requester_pull)
        pulled = await refusal(cell.desk("ukr.mod"), requester_pull)
        assert (pulled["kind"], pulled["code"]) == ("notify.rejected.v1", "NOT_AUTHORISED")
        assert "ukr.mod may not WITHDRAW_OFFER" in pulled["detail"]
        withdraw = command(
            rid, "WITHDRAW_OFFER", offer_id="off-gbr-1", line_nos=[2], reason="spares re-tasked"
        )
        await post(gbr, envelope(withdraw, to=[WATCH]))
        dropped = await version(usa, rid, 7)
        assert dropped["state"] == "PARTIALLY_MATCHED"
        assert [ln["pledged"] for ln in dropped["lines"]] == [90, 4]

        commit = command(rid, "COMMIT", offer_ids=["off-usa-1", "off-gbr-1"])
        await post(watch, envelope(commit, to=[REQUESTER], info=[USA, GBR]))
        await _disrupt(cell, "support", crash=True, restarts=restarts)  # commit in flight
        committed = await version(ukr, rid, 8)
        assert committed["state"] == "COMMITTED"
        assert [ln["committed"] for ln in committed["lines"]] == [90, 4]
        # Open requests by capability area, with their totals, through the gateway's query.
        area = await settled(
            cell,
            WATCH,
            "/v1/requests",
            lambda a: any(
                r["request_id"] == rid and r["state"] == "COMMITTED" for r in a["requests"]
            ),
            area="AIR_DEFENCE",
        )
        (mine,) = [r for r in area["requests"] if r["request_id"] == rid]
        assert mine["totals"] == {"requested": 110, "offered": 94, "committed": 94, "delivered": 0}
        (air,) = [a for a in area["areas"] if a["capability_area"] == "AIR_DEFENCE"]
        assert air["totals"]["committed"] >= 94

        late = envelope(command(rid, "WITHDRAW_OFFER", offer_id="off-usa-1"), to=[WATCH])
        await post(usa, late)
        late_refusal = await refusal(usa, late)
        assert late_refusal["code"] == "INVALID_TRANSITION"
        assert late_refusal["current_state"] == "COMMITTED"

        await post(
            usa, envelope(consignment(rid, "con-usa-1", "off-usa-1", {1: 60, 2: 4}), to=[REQUESTER])
        )
        assert (await version(ukr, rid, 9))["state"] == "IN_DELIVERY"
        await post(
            gbr, envelope(consignment(rid, "con-gbr-1", "off-gbr-1", {1: 30}), to=[REQUESTER])
        )
        await version(ukr, rid, 10)
        for con, lines in (("con-usa-1", {1: 60, 2: 4}), ("con-gbr-1", {1: 30})):
            confirm = command(rid, "CONFIRM_DELIVERY", consignment_id=con, received=received(lines))
            await post(ukr, envelope(confirm, to=[WATCH]))
        delivered = await version(ukr, rid, 12)
        assert delivered["state"] == "DELIVERED"
        assert [ln["delivered"] for ln in delivered["lines"]] == [90, 4]
        await post(watch, envelope(command(rid, "CLOSE", note="Delivered"), to=[REQUESTER]))
        for desk in (ukr, usa, gbr):
            await status(desk, rid, "CLOSED")

        # Each party told at each step, in version order, never twice.
        expected = {
            REQUESTER: list(range(2, 14)),
            USA: list(range(4, 14)),
            GBR: [4, *range(6, 14)],  # GBR had no offer yet at v5
        }
        for desk in (ukr, usa, gbr):
            await desk.poll(wait_s=1)  # anything late (a duplicate) would show here
            assert [b["version"] for b in statuses(desk, rid)] == expected[desk.id], desk.id
        states = [b["state"] for b in statuses(ukr, rid)]
        assert states[:4] == ["ACKNOWLEDGED", "VALIDATED", "SOURCING", "PARTIALLY_MATCHED"]
        assert states[-3:] == ["IN_DELIVERY", "DELIVERED", "CLOSED"]

        # The request as the gateway answers it: one history entry per version, offers and
        # totals as the notices said, and no longer among the open requests of its area.
        answer = await settled(cell, REQUESTER, f"/v1/requests/{rid}", lambda a: a["version"] == 13)
        assert answer["summary"]["state"] == "CLOSED"
        assert [h["version"] for h in answer["history"]] == list(range(1, 14))
        assert [h["action"] for h in answer["history"] if h["actor"] != "svc.support"] == [
            "FILE",
            "VALIDATE",
            "START_SOURCING",
            "OFFER",
            "OFFER",
            "WITHDRAW_OFFER",
            "COMMIT",
            "CONSIGNMENT",
            "CONSIGNMENT",
            "CONFIRM_DELIVERY",
            "CONFIRM_DELIVERY",
            "CLOSE",
        ]
        assert {(o["offer_id"], o["state"]) for o in answer["offers"]} == {
            ("off-usa-1", "COMMITTED"),
            ("off-gbr-1", "COMMITTED"),
        }
        assert answer["summary"]["totals"] == {
            "requested": 110,
            "offered": 94,
            "committed": 94,
            "delivered": 94,
        }
        listing = await ukr.get("/v1/requests", area="AIR_DEFENCE")
        assert rid not in [r["request_id"] for r in listing["requests"]]


# --- 2. tasking ---------------------------------------------------------------------------------


@pytest.mark.parametrize("restarts", [False, True], ids=["steady", "restarted"])
async def test_order_to_three_nations_complete_decline_silent_and_frago(  # noqa: PLR0915 - one story
    kafka_bootstrap: str, *, restarts: bool
) -> None:
    overrides = {"tasking": {"tick_interval_s": 0.5}}
    async with full_cell(kafka_bootstrap, overrides) as cell:
        hq, watch, fra, gbr, pol = (cell.desk(d) for d in (HQ, WATCH, FRA, GBR, POL))
        oid = _id("opord-sbg")
        tasks = [
            task("t-fra", "FRA", "FS Auvergne", "MARITIME_PATROL", "MARITIME"),
            task("t-gbr", "GBR", "HMS Middleton", "MINE_COUNTERMEASURES", "MARITIME"),
            task("t-pol", "POL", "12th Mechanised Brigade", "PRESENCE_PATROL", "LAND"),
        ]
        order = acked(envelope(tasking_order(oid, tasks), to=[FRA, GBR, POL]), seconds=45)
        await post(hq, order)
        for desk in (fra, gbr, pol):
            await desk.wait_for(lambda m: m["message_id"] == order["message_id"], what="order")

        # FRA acknowledges and completes; an out-of-order report is refused by reason.
        skip = envelope(task_status(oid, "t-fra", "FS Auvergne", "COMPLETED"), to=[HQ])
        await post(fra, skip)
        skip_refusal = await refusal(fra, skip)
        assert skip_refusal["code"] == "INVALID_TRANSITION"
        assert skip_refusal["current_state"] == "RECEIVED"
        for state in ("ACKNOWLEDGED", "WILL_COMPLY", "IN_PROGRESS", "COMPLETED"):
            await post(fra, envelope(task_status(oid, "t-fra", "FS Auvergne", state), to=[HQ]))
        # GBR declines with a reason; POL may not report on another nation's task.
        reason = "No mine countermeasures vessel available before the next rotation"
        await post(
            gbr,
            envelope(task_status(oid, "t-gbr", "HMS Middleton", "CANNOT_COMPLY", reason), to=[HQ]),
        )
        meddle = envelope(task_status(oid, "t-fra", "FS Auvergne", "ABORTED", "x"), to=[HQ])
        await post(pol, meddle)
        assert (await refusal(pol, meddle))["code"] == "NOT_AUTHORISED"
        declined = await hq.wait_for(
            lambda m: (
                m["body"]["kind"] == "tasking.status.v1" and m["body"]["state"] == "CANNOT_COMPLY"
            ),
            what="GBR declining",
        )
        assert declined["originator"] == GBR
        assert declined["body"]["reason"] == reason
        await _disrupt(cell, "tasking", crash=False, restarts=restarts)

        # POL stays silent: the tasking service reports its task overdue to HQ and WATCH.
        def overdue(m: dict[str, Any]) -> bool:
            return bool(
                m["originator"] == "svc.tasking"
                and m["body"]["kind"] == "notify.escalation.v1"
                and m["body"]["reason"] == "ACK_OVERDUE"
            )

        for desk in (hq, watch):
            alert = await desk.wait_for(overdue, what="overdue acknowledgement")
            assert alert["body"]["entity_id"] == f"{oid}/t-pol"
            assert alert["body"]["outstanding"] == [POL]

        # A FRAGO changes GBR's task; its assignee sees change 1 and accepts the new version.
        changed = task("t-gbr", "GBR", "HMS Middleton", "ESCORT", "MARITIME")
        changed["instructions"] = "Escort grain convoys instead; MCM deferred to the next rotation."
        frago = tasking_order(_id("frago-sbg"), [changed], base_order_id=oid, change_number=1)
        frago_submission = acked(envelope(frago, to=[GBR]), seconds=600)
        await post(hq, frago_submission)
        await _disrupt(cell, "tasking", crash=True, restarts=restarts)  # FRAGO in flight
        seen = await gbr.wait_for(
            lambda m: (
                m["body"]["kind"] == "tasking.order.v1" and m["body"]["order_type"] == "FRAGO"
            ),
            what="FRAGO",
        )
        assert seen["body"]["change_number"] == 1
        assert seen["body"]["tasks"][0]["task_type"] == "ESCORT"
        stale = tasking_order(_id("frago-sbg"), [changed], base_order_id=oid, change_number=1)
        stale_submission = acked(envelope(stale, to=[GBR]), seconds=600)
        await post(hq, stale_submission)
        assert (await refusal(hq, stale_submission))["code"] == "VERSION_CONFLICT"
        await post(
            gbr, envelope(task_status(oid, "t-gbr", "HMS Middleton", "WILL_COMPLY"), to=[HQ])
        )
        # A probe the service must refuse shows GBR's task now stands at WILL_COMPLY.
        probe = envelope(task_status(oid, "t-gbr", "HMS Middleton", "ACKNOWLEDGED"), to=[HQ])
        await post(gbr, probe)
        assert (await refusal(gbr, probe))["current_state"] == "WILL_COMPLY"

        # The order as the gateway answers it, and the tasks by nation and status.
        answer = await settled(
            cell,
            HQ,
            f"/v1/orders/{oid}",
            lambda a: {t["task_id"]: t["state"] for t in a["tasks"]}["t-gbr"] == "WILL_COMPLY",
        )
        assert answer["change_number"] == 1
        tasks_now = {t["task_id"]: (t["state"], t["change"]) for t in answer["tasks"]}
        assert tasks_now == {
            "t-fra": ("COMPLETED", 0),
            "t-gbr": ("WILL_COMPLY", 1),
            "t-pol": ("RECEIVED", 0),
        }
        steps = [(h["task_id"], h["to_state"]) for h in answer["history"] if h["task_id"]]
        assert steps == [
            ("t-fra", "ACKNOWLEDGED"),
            ("t-fra", "WILL_COMPLY"),
            ("t-fra", "IN_PROGRESS"),
            ("t-fra", "COMPLETED"),
            ("t-gbr", "CANNOT_COMPLY"),
            ("t-gbr", "WILL_COMPLY"),
        ]
        silent_tasks = await pol.get("/v1/tasks", nation="POL", status="RECEIVED")
        assert [t["task_id"] for t in silent_tasks["tasks"] if t["order_id"] == oid] == ["t-pol"]
        for desk in (hq, watch):
            await desk.poll(wait_s=1)
            escalations = [
                m
                for m in (i["message"] for i in desk.received)
                if overdue(m) and m["body"]["entity_id"] == f"{oid}/t-pol"
            ]
            assert len(escalations) == 1, escalations  # raised once, restarts or not


# --- 3. attack alert ----------------------------------------------------------------------------


async def _ack(cell: FullCell, desk_id: str, message_id: str) -> None:
    """Acknowledge through the gateway: 404 until the gateway has read the delivery, 503
    while the broker is slow to take the ack (retried with the same derived id)."""
    async with asyncio.timeout(DEADLINE_S):
        while True:
            response = await cell.client.post(
                f"/v1/messages/{message_id}/ack",
                json={"response": "ACKNOWLEDGED", "remarks": "Alert received, plans activated"},
                headers=auth(desk_id),
            )
            if response.status == 202:
                return
            assert response.status in {404, 503}, (desk_id, response.status, await response.text())
            await asyncio.sleep(0.5)


async def test_attack_alert_flash_to_every_desk_escalates_silent_ones_and_opens_depot_draws(
    kafka_bootstrap: str,
) -> None:
    async with full_cell(kafka_bootstrap) as cell:
        watch, ukr = cell.desk(WATCH), cell.desk(REQUESTER)
        alert_body = {
            "kind": "alert.attack.v1",
            "alert_id": _id("alert-kharkiv"),
            "attack_type": "MISSILE",
            "detected_at": ago(minutes=2),
            "affected_areas": [{"name": "Kharkiv oblast"}],
            "attacking_party": "RUS",
            "description": "Massed missile strike on energy infrastructure around Kharkiv.",
            "instructions": "Activate the binding commitments; depot draws authorised.",
        }
        alert = acked(
            envelope(alert_body, to=["ALL"], precedence="FLASH", rel_to=ALL_NATIONS), seconds=90
        )
        await post(watch, alert)

        # Every desk the cell's rules let see it has it at FLASH, services included.
        reached = [d for d in REGISTRY.desks if d.id != WATCH and not d.exercise_only]
        for desk_id in (d.id for d in reached):
            desk = cell.desk(desk_id)
            got = await desk.wait_for(
                lambda m: m["message_id"] == alert["message_id"], what="alert"
            )
            assert got["primary_precedence"] == "FLASH"
            assert lane_of(desk, alert["message_id"]) == "FLASH"
        training = await refusal(watch, alert)  # the exercise-only desk gets no operation
        assert (training["recipient"], training["reason"]) == ("exr.training", "EXERCISE_ONLY")

        # Every desk but two (and the services, which act on it) acknowledges.
        silent = {"nld.def", "ita.coi"}
        humans = [d.id for d in reached if Role.SERVICE not in d.roles]
        for desk_id in humans:
            if desk_id not in silent:
                await _ack(cell, desk_id, alert["message_id"])
        escalation = await watch.wait_for(
            lambda m: (
                m["body"]["kind"] == "notify.escalation.v1"
                and m["body"]["subject_message_id"] == alert["message_id"]
            ),
            what="escalation of the silent desks",
        )
        assert escalation["primary_precedence"] == "FLASH"
        assert escalation["body"]["reason"] == "ACK_OVERDUE"
        assert set(escalation["body"]["outstanding"]) == silent

        # A depot draw filed after the alert: the fast path, at FLASH, no sourcing.
        rid = _id("req-draw")
        draw = support_request(rid, depot_draw_on=alert["message_id"], lines={1: 40})
        await post(ukr, envelope(draw, to=[WATCH], precedence="FLASH", rel_to=ALL_NATIONS))
        authorised = await status(ukr, rid, "AUTHORISED")
        assert alert_body["alert_id"] in authorised["note"]
        assert [ln["committed"] for ln in authorised["lines"]] == [0]
        await watch.wait_for(
            lambda m: (
                m["body"]["kind"] == "support.status.v1"
                and m["body"]["request_id"] == rid
                and m["body"]["state"] == "AUTHORISED"
            ),
            what="WATCH told of the authorised draw",
        )
        drawn = command(rid, "RECORD_DRAW", drawn=received({1: 40}))
        await post(watch, envelope(drawn, to=[REQUESTER], precedence="FLASH", rel_to=ALL_NATIONS))
        done = await status(ukr, rid, "DRAWN")
        confirm = command(
            rid,
            "CONFIRM_DELIVERY",
            consignment_id=done["consignment_ids"][0],
            received=received({1: 40}),
        )
        await post(ukr, envelope(confirm, to=[WATCH], precedence="FLASH", rel_to=ALL_NATIONS))
        await status(ukr, rid, "DELIVERED")
        answer = await settled(
            cell, REQUESTER, f"/v1/requests/{rid}", lambda a: a["summary"]["state"] == "DELIVERED"
        )
        assert [h["action"] for h in answer["history"]] == [
            "FILE",
            "ACKNOWLEDGE",
            "VALIDATE",
            "AUTHORISE_DRAW",
            "RECORD_DRAW",
            "CONFIRM_DELIVERY",
        ]
        assert answer["offers"] == []
        states = [b["state"] for b in statuses(ukr, rid)]
        assert not {"SOURCING", "PARTIALLY_MATCHED", "MATCHED", "COMMITTED"} & set(states)
        lanes = {
            i["lane"]
            for i in ukr.received
            if i["message"]["body"]["kind"] == "support.status.v1"
            and i["message"]["body"]["request_id"] == rid
        }
        assert lanes == {"FLASH"}
