"""Router kill -9 five times mid-stream, and a second instance joining and leaving (rebalances).

The stream goes through a real gateway subprocess to a real router subprocess on the 3-node
cluster. Each kill lands while the router is routing (after new deliveries were seen since
it came back); the checker then proves every acknowledged submission reached its recipient
exactly once and nothing else did.
"""

from __future__ import annotations

import asyncio

import pytest
from fault_cell import FaultCell, Proc
from fault_checker import Inboxes, record_figures
from fault_load import BatchLoad

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

MESSAGES = 6_000
KILLS = 5


async def _progress(inboxes: Inboxes, more: int, router: Proc, timeout_s: float = 120) -> None:
    target = sum(inboxes.copies.values()) + more
    ok = await inboxes.wait_until(lambda ib: sum(ib.copies.values()) >= target, timeout_s)
    assert ok, f"no routing progress ({target} copies expected):\n{router.log_tail()}"


async def test_router_kill9_five_times_and_a_second_instance_joins_and_leaves(
    fault_cell: FaultCell,
) -> None:
    cell = fault_cell
    gateway = cell.gateway()
    await cell.wait_http(gateway)
    router = cell.router()
    # The stream runs until the last kill has landed (its ceiling is never the limit on a
    # slow machine, and a fast one cannot finish it before the kills), then stops at no
    # fewer than MESSAGES.
    load = BatchLoad(cell, lambda: gateway.url, MESSAGES * 4, batch=50, concurrency=2, pace_s=0.5)
    second: Proc | None = None
    events: list[str] = []
    async with Inboxes(cell.bootstrap, cell.registry, cell.prefix) as inboxes:
        loading = asyncio.create_task(load.run())
        try:
            for kill in range(KILLS):
                await _progress(inboxes, 150, router)
                await router.kill9()
                events.append(f"kill -9 router ({kill + 1})")
                router = cell.router()
                if kill == 1:
                    second = cell.router()
                    events.append("second router joins")
                if kill == 3 and second is not None:
                    await _progress(inboxes, 150, second)
                    assert await second.stop() == 0, second.log_tail()
                    events.append("second router leaves")
            mid_stream = load.sent < load.total
            load.total = max(load.sent, MESSAGES)
            await asyncio.wait_for(loading, 600)
        finally:
            loading.cancel()
        converged = await inboxes.wait_until(lambda ib: ib.has_all(load.ledger), 240)
        assert await router.stop() == 0, router.log_tail()
        await inboxes.read_to_end()
    verdict = inboxes.verdict(load.ledger)
    record_figures(
        "1-router-kills",
        order=1,
        title="Router kill -9 x5 + second instance joins/leaves",
        load=f"{load.total} submissions via gateway batches of 50, 25 desks",
        faults="; ".join(events),
        acknowledged=verdict.acknowledged,
        delivered=verdict.delivered,
        lost=verdict.lost,
        duplicated=verdict.duplicated + verdict.report_duplicates,
        unexpected=verdict.unexpected,
        server_errors=load.ledger.server_errors,
        recovery=f"acks {load.ledger.longest_ack_gap():.1f} s / deliveries "
        f"{verdict.delivery_stall_s:.1f} s",
        verdict=verdict,
        statuses=dict(load.ledger.statuses),
    )
    assert mid_stream, "the load finished before the last kill: raise its ceiling"
    assert converged, verdict
    assert load.ledger.server_errors == 0, load.ledger.statuses
    assert verdict.acknowledged == load.total >= MESSAGES
    verdict.assert_clean(router.log_tail())
