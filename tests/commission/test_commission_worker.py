"""The commission worker against the real broker: cases, refusals, restart and replay."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from kafka_helpers import drained, envelopes, feed, new_prefix, provision_cell, read_until  # type: ignore[import-not-found]  # on sys.path via conftest
from test_commission_cases import DETERMINATION, M1, M2, REGISTER, act  # type: ignore[import-not-found]  # via conftest

from schemas.desks import load_registry
from schemas.kinds.commission import BreachCase
from schemas.kinds.commission_actions import RecordDetermination, StartPreliminaryReview
from schemas.kinds.notifications import ActionRejected, RejectionCode
from schemas.precedence import LANES_HIGH_FIRST
from schemas.topics import domain_topic, state_topic, submit_topic
from services.commission.settings import CommissionSettings
from services.commission.state import decode_record
from services.commission.worker import run

pytestmark = pytest.mark.integration
REGISTRY = load_registry(Path(__file__).resolve().parents[2] / "deploy/desks/demo.json")


async def test_case_actions_refusals_and_restart(kafka_bootstrap: str) -> None:
    prefix = new_prefix()
    await provision_cell(kafka_bootstrap, prefix)
    settings = CommissionSettings(kafka_bootstrap=kafka_bootstrap, topic_prefix=prefix)
    domain = domain_topic("commission", prefix=prefix)
    cases = state_topic("cases", prefix=prefix)
    submits = [submit_topic(lane, prefix=prefix) for lane in LANES_HIGH_FIRST]
    group = f"{prefix}{settings.group_id}"
    steps = [
        act("svc.monitoring", REGISTER),
        act(M1, RecordDetermination(determination=DETERMINATION)),  # illegal in ALLEGED
        act("gbr.pjhq", StartPreliminaryReview(rapporteur=M1)),  # not a member
        act(M1, StartPreliminaryReview(rapporteur=M2)),
    ]
    for attempt in range(2):  # second pass: restart and replay the same input
        stop = asyncio.Event()
        task = asyncio.create_task(run(settings, stop, registry=REGISTRY))
        await feed(kafka_bootstrap, domain, [*steps, b"\x00poison"] if attempt == 0 else steps)
        await drained(kafka_bootstrap, group, domain)
        stop.set()
        await asyncio.wait_for(task, 60)
        snapshots = await read_until(kafka_bootstrap, [cases], lambda rs: len(rs) >= 2)
        record = decode_record(snapshots[-1].value)
        assert record.case.state.value == "PRELIMINARY_REVIEW"
        assert record.case.version == 2
        assert len(snapshots) == 2  # the replay wrote nothing
        # Two accepted steps published to the members, two refusals (the replay adds refusals
        # under the same ids, and no publication: a replayed action is a duplicate).
        out = envelopes(await read_until(kafka_bootstrap, submits, lambda rs: len(rs) >= 4))
        published = [e.body for e in out if isinstance(e.body, BreachCase)]
        assert [(c.version, c.state.value) for c in published] == [
            (1, "ALLEGED"),
            (2, "PRELIMINARY_REVIEW"),
        ]
        # A replayed refusal is re-sent under the same derived id: the router delivers it once.
        by_id = {e.message_id: e.body.code for e in out if isinstance(e.body, ActionRejected)}
        codes = sorted(by_id.values())
        assert codes == [RejectionCode.INVALID_TRANSITION, RejectionCode.NOT_AUTHORISED]
