"""kill -9 the commission, support and tasking services mid-scenario: the outcome is unchanged.

Each service runs as a real subprocess on the 3-node cluster and gets its scenario on its
domain topic (as the router writes it): a breach case from registration to CLOSED, a support
request from filing to CLOSED, an order of three tasks with their statuses and a FRAGO.
``kill_run`` kills it twice (right after two inputs are written; mid-batch, two records per
transaction) and restarts it; each restart rebuilds the state from the compacted topic and
resumes from the committed offsets.

The outcome is compared with the same input handled by the service's own handler in this
process, uninterrupted (``domain_scenarios.reference``): the same final state and version,
every input applied once (the history is the uninterrupted one, in input order), every state
snapshot and every message on the submit lanes written once (``read_committed``), nothing
else written. A poison sentinel fed last, on the scenario's partition, proves the input was
consumed to its end.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import domain_scenarios as sc
import pytest
from fault_checker import record_figures
from kill_run import Run, kill_run

from deploy.kafka.launcher import KafkaCluster
from schemas.envelope import Envelope
from schemas.kinds.commission import BreachCase, CaseState
from schemas.kinds.notifications import ActionRejected, Escalation, EscalationReason
from schemas.kinds.support import RequestState, RequestStatus
from schemas.kinds.tasking import TaskState
from services.commission.state import decode_record as decode_case
from services.runtime import ids
from services.runtime.outbox import Output
from services.support.state import decode_record as decode_request
from services.tasking.state import decode_record as decode_order

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


@dataclass
class Uninterrupted:
    """The same input handled in this process by the service's handler, nothing killed."""

    outputs: list[Output]
    decode: Callable[[bytes], Any]

    @property
    def states(self) -> list[Output]:
        return [o for o in self.outputs if ".state." in o.topic]

    @property
    def final(self) -> Any:
        return self.decode(self.states[-1].value or b"")

    @property
    def accepted(self) -> set[uuid.UUID]:
        return {h.message_id for h in self.final.history}


def _uninterrupted(
    service: str, steps: list[Envelope], now: datetime, decode: Callable[[bytes], Any]
) -> Uninterrupted:
    return Uninterrupted(sc.reference(service, "x.", steps, now), decode)


def _check(
    name: str, run: Run, expected: Uninterrupted, steps: list[Envelope], *, extra: set[str]
) -> Counter[str]:
    """Record the run's figures against the uninterrupted run; the copies of each output."""
    reference = expected.states
    want = set(sc.sent_ids(expected.outputs))
    copies = Counter(str(e.message_id) for e in run.out)
    history = run.history()
    ref_history = [h.message_id for h in expected.final.history]
    # A filing the service acknowledges itself is two history entries under one message id.
    applied, ref_applied = Counter(history), Counter(ref_history)
    lost = len(want - copies.keys()) + (ref_applied - applied).total()
    duplicated = sum(n - 1 for n in copies.values()) + (applied - ref_applied).total()
    record_figures(
        f"6-service-kill-{name}",
        order=6,
        title=f"Domain service kill -9 mid-scenario ({name})",
        load=f"{len(steps)} inputs on the {name} domain topic (one entity) + sentinel",
        faults=f"kill -9 {name} x{len(run.kills)} ({'; '.join(run.kills)}), restart",
        acknowledged=len(steps),
        delivered=len(copies),
        lost=lost,
        duplicated=duplicated,
        unexpected=len(copies.keys() - want - extra),
        server_errors=0,
        recovery="-",
        notes=f"{len(history)}/{len(ref_history)} history entries (each input applied once), "
        f"{len(run.states)} state snapshots (uninterrupted: {len(reference)}), "
        f"{len(run.out)} outputs for {len(want)} expected, dead letters {run.letters}",
    )
    assert history == ref_history  # every input applied once, in input order
    assert run.letters == [b"undecodable"]  # the sentinel, consumed last
    assert set(copies.values()) == {1}, copies
    assert want <= copies.keys(), want - copies.keys()
    assert copies.keys() - want <= extra, copies.keys() - want
    return copies


async def test_commission_kill9_mid_case_outcome_unchanged(
    cluster: KafkaCluster, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    steps = sc.commission(now)
    expected = _uninterrupted("commission", steps, now, decode_case)
    run = await kill_run(
        cluster,
        tmp_path,
        service="commission",
        state="cases",
        registry=sc.COMMISSION_DESKS,
        steps=steps,
        accepted=expected.accepted,
        decode=decode_case,
    )
    _check("commission", run, expected, steps, extra=set())
    final, uninterrupted = run.states[-1].case, expected.final.case
    assert (
        (final.state, final.version)
        == (CaseState.CLOSED, uninterrupted.version)
        == (
            CaseState.CLOSED,
            10,
        )
    )
    assert len(run.states) == uninterrupted.version  # one snapshot per accepted action
    published = [e.body for e in run.out if isinstance(e.body, BreachCase)]
    assert {e.action_to for e in run.out if isinstance(e.body, BreachCase)} == {("COMMISSION",)}
    assert sorted(c.version for c in published) == list(range(1, 11))
    assert published[-1].state is CaseState.CLOSED
    (refused,) = [e.body for e in run.out if isinstance(e.body, ActionRejected)]
    assert refused.subject_message_id == steps[2].message_id


async def test_support_kill9_mid_request_outcome_unchanged(
    cluster: KafkaCluster, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    steps = sc.support(now)
    expected = _uninterrupted("support", steps, now, decode_request)
    run = await kill_run(
        cluster,
        tmp_path,
        service="support",
        state="requests",
        registry=sc.SUPPORT_DESKS,
        steps=steps,
        accepted=expected.accepted,
        decode=decode_request,
    )
    _check("support", run, expected, steps, extra=set())
    final, uninterrupted = run.states[-1].status, expected.final.status
    assert final.state is RequestState.CLOSED
    assert final.version == uninterrupted.version
    assert final.lines == uninterrupted.lines  # requested, pledged, committed, delivered
    assert [(ln.committed, ln.delivered) for ln in final.lines] == [(100, 100), (10, 10)]
    assert len(run.states) == len(expected.states)
    versions = [e.body.version for e in run.out if isinstance(e.body, RequestStatus)]
    assert sorted(versions) == list(range(2, uninterrupted.version + 1))  # each once


async def test_tasking_kill9_mid_order_outcome_unchanged(
    cluster: KafkaCluster, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    steps = sc.tasking(now)
    expected = _uninterrupted("tasking", steps, now, decode_order)
    run = await kill_run(
        cluster,
        tmp_path,
        service="tasking",
        state="orders",
        registry=sc.TASKING_DESKS,
        steps=steps,
        accepted=expected.accepted,
        decode=decode_order,
        env={"CELL_TICK_INTERVAL_S": "0.5"},  # overdue checks run between the kills
    )
    # Any task may be found still unacknowledged by a tick: one ACK_OVERDUE per task version.
    alerts = {
        str(ids.message_id("task-overdue", f"{sc.ORDER}/{t}/ack:0")): t
        for t in ("t-gbr", "t-fra", "t-pol")
    }
    copies = _check("tasking", run, expected, steps, extra=set(alerts))
    final, uninterrupted = run.states[-1], expected.final
    tasks = {t.task_id: (t.state, t.change) for t in final.tasks}
    assert tasks == {t.task_id: (t.state, t.change) for t in uninterrupted.tasks}
    assert tasks == {
        "t-gbr": (TaskState.COMPLETED, 0),
        "t-fra": (TaskState.WILL_COMPLY, 1),
        "t-pol": (TaskState.RECEIVED, 0),
    }
    raised = {alerts[m] for m in copies if m in alerts}
    escalations = [e.body for e in run.out if isinstance(e.body, Escalation)]
    assert {e.reason for e in escalations} == {EscalationReason.ACK_OVERDUE}
    assert len(escalations) == len(raised)
    assert "t-pol" in raised  # never acknowledged: raised, once
    # The state records exactly the alerts published (the FRAGO's new FRA version has none).
    marks = {t.task_id: t.alerted for t in final.tasks}
    assert marks["t-pol"] == ("ack:0",)
    assert marks["t-gbr"] == (("ack:0",) if "t-gbr" in raised else ())
    assert marks["t-fra"] == ()
