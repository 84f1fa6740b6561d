"""Broker faults on the 3-node cluster under a gateway + router stream.

- kill -9 the leader of a submit partition, then of an inbox partition, during 20,000
  submissions, restarting each;
- SIGSTOP the leader of a submit partition for longer than the broker and consumer session
  timeouts, then SIGCONT;
- the whole cluster down for 30 s: every request completes with 503 + Retry-After (no other
  5xx, no hang), /readyz goes 503, and both come back without restarting gateway or router.

Nodes are started from the test's main thread (the launcher binds PDEATHSIG to it) and only
waited for in a worker thread, so the client load keeps running while a broker boots.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import aiohttp
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from fault_cell import FaultCell, Proc
from fault_checker import Inboxes, Verdict, record_figures
from fault_load import BatchLoad, liaison

from deploy.kafka.launcher import READY_TIMEOUT_S, KafkaCluster

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

LEADER_KILL_MESSAGES = 20_000
PAUSE_MESSAGES = 4_000
PAUSE_S = 15.0  # > broker session (6 s) and consumer session (10 s) timeouts
OUTAGE_S = 30.0


async def leader_of(bootstrap: str, topic: str, partition: int = 0) -> int:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5_000)
        try:
            await asyncio.wait_for(admin.start(), 10)
            (desc,) = await asyncio.wait_for(admin.describe_topics([topic]), 10)
            leader = next(p["leader"] for p in desc["partitions"] if p["partition"] == partition)
            if leader >= 0:
                return int(leader)
        except (KafkaError, TimeoutError, OSError):
            pass
        finally:
            await admin.close()
        assert loop.time() < deadline, f"no leader for {topic}[{partition}]"
        await asyncio.sleep(0.5)


async def restart(cluster: KafkaCluster, node_id: int) -> None:
    node = cluster.node(node_id)
    node.start()  # main thread
    await asyncio.to_thread(node.wait_ready, time.monotonic() + READY_TIMEOUT_S)


async def _converge(cell: FaultCell, load: BatchLoad, inboxes: Inboxes, router: Proc) -> Verdict:
    converged = await inboxes.wait_until(lambda ib: ib.has_all(load.ledger), 300)
    assert await router.stop() == 0, router.log_tail()
    await inboxes.read_to_end()
    verdict = inboxes.verdict(load.ledger)
    assert converged, f"{verdict}\n{router.log_tail()}"
    return verdict


def _figures(verdict: Verdict, load: BatchLoad) -> dict[str, object]:
    return {
        "acknowledged": verdict.acknowledged,
        "delivered": verdict.delivered,
        "lost": verdict.lost,
        "duplicated": verdict.duplicated + verdict.report_duplicates,
        "unexpected": verdict.unexpected,
        "server_errors": load.ledger.server_errors,
        "recovery": f"acks {load.ledger.longest_ack_gap():.1f} s / deliveries "
        f"{verdict.delivery_stall_s:.1f} s",
        "verdict": verdict,
        "statuses": dict(load.ledger.statuses),
        "client_errors": dict(load.ledger.client_errors),
    }


async def test_kill9_submit_and_inbox_leaders_during_20k_submissions(
    cluster: KafkaCluster, fault_cell: FaultCell
) -> None:
    cell = fault_cell
    gateway = cell.gateway()
    await cell.wait_http(gateway)
    router = cell.router()
    load = BatchLoad(
        cell, lambda: gateway.url, LEADER_KILL_MESSAGES, batch=100, concurrency=4, pace_s=0.5
    )
    submit_topic = cell.submit_topics()[3]  # ROUTINE, the busiest lane
    inbox_topic = cell.inboxes(cell.registry.desks[0])[3]
    events = []
    async with Inboxes(cell.bootstrap, cell.registry, cell.prefix) as inboxes:
        loading = asyncio.create_task(load.run())
        try:
            # The load is held short of its end while the victim is looked up and released
            # as the node dies: each kill lands mid-stream however fast the machine is.
            load.hold(3_000)
            await load.reached(2_000)
            victim = await leader_of(cell.bootstrap, submit_topic)
            load.release()
            cluster.node(victim).kill()
            mid_stream = load.sent < LEADER_KILL_MESSAGES
            events.append(f"kill -9 node {victim} (leader of {submit_topic.split('.', 1)[1]}[0])")
            load.hold(12_000)  # before the restart, which may outlast the rest of the load
            await load.reached(len(load.ledger.acked) + 2_000)
            await restart(cluster, victim)
            events.append(f"restart node {victim}")
            await load.reached(10_000)
            victim = await leader_of(cell.bootstrap, inbox_topic)
            load.release()
            cluster.node(victim).kill()
            mid_stream = mid_stream and load.sent < LEADER_KILL_MESSAGES
            events.append(f"kill -9 node {victim} (leader of {inbox_topic.split('.', 1)[1]})")
            await load.reached(len(load.ledger.acked) + 2_000)
            await restart(cluster, victim)
            events.append(f"restart node {victim}")
            await asyncio.wait_for(loading, 900)
        finally:
            loading.cancel()
        verdict = await _converge(cell, load, inboxes, router)
    record_figures(
        "2-broker-leader-kill",
        order=2,
        title="Broker kill -9 of submit and inbox partition leaders",
        load=f"{LEADER_KILL_MESSAGES} submissions via gateway batches of 100, 4 clients",
        faults="; ".join(events),
        **_figures(verdict, load),
    )
    assert mid_stream, "the load ended before the second kill: raise the count or pace"
    assert load.ledger.server_errors == 0, load.ledger.statuses
    assert verdict.acknowledged == LEADER_KILL_MESSAGES
    verdict.assert_clean(router.log_tail())


async def test_sigstop_leader_longer_than_session_timeout(
    cluster: KafkaCluster, fault_cell: FaultCell
) -> None:
    cell = fault_cell
    gateway = cell.gateway()
    await cell.wait_http(gateway)
    router = cell.router()
    load = BatchLoad(cell, lambda: gateway.url, PAUSE_MESSAGES, batch=50, concurrency=2, pace_s=0.5)
    async with Inboxes(cell.bootstrap, cell.registry, cell.prefix) as inboxes:
        loading = asyncio.create_task(load.run())
        try:
            load.hold(2_000)  # released as the broker stops: the pause lands mid-stream
            await load.reached(1_000)
            victim = await leader_of(cell.bootstrap, cell.submit_topics()[3])
            node = cluster.node(victim)
            load.release()
            node.pause()
            mid_stream = load.sent < PAUSE_MESSAGES
            try:
                await asyncio.sleep(PAUSE_S)
            finally:
                node.resume()
            await asyncio.wait_for(loading, 600)
        finally:
            loading.cancel()
        verdict = await _converge(cell, load, inboxes, router)
    record_figures(
        "3-broker-sigstop",
        order=3,
        title="Broker SIGSTOP beyond the session timeouts",
        load=f"{PAUSE_MESSAGES} submissions via gateway batches of 50, 2 clients",
        faults=f"SIGSTOP node {victim} (submit partition leader) for {PAUSE_S:.0f} s, SIGCONT",
        **_figures(verdict, load),
    )
    assert mid_stream
    assert load.ledger.server_errors == 0, load.ledger.statuses
    verdict.assert_clean(router.log_tail())


async def _probe(
    cell: FaultCell, gateway: Proc, statuses: Counter[str], stop: asyncio.Event
) -> None:
    """Single submissions, batches and /readyz for the outage; each must complete."""
    desk = cell.registry.desks[1].id
    timeout = aiohttp.ClientTimeout(total=20)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        while not stop.is_set():
            requests = [
                http.post(
                    gateway.url + "/v1/messages",
                    json=liaison(cell.registry.desks[2].id),
                    headers=cell.auth(desk),
                ),
                http.post(
                    gateway.url + "/v1/messages:batch",
                    json={"submissions": [liaison(cell.registry.desks[3].id)]},
                    headers=cell.auth(desk),
                ),
                http.get(gateway.url + "/readyz"),
            ]
            for name, request in zip(("single", "batch", "readyz"), requests, strict=True):
                try:
                    async with request as response:
                        await response.read()
                        retry = "retry-after" if "Retry-After" in response.headers else "no-retry"
                        statuses[f"{name} {response.status} {retry}"] += 1
                except TimeoutError:
                    statuses[f"{name} client-timeout"] += 1
            await asyncio.sleep(0.5)


async def _ready(cell: FaultCell, gateway: Proc, timeout_s: float) -> float:
    started = time.monotonic()
    await cell.wait_http(gateway, "/readyz", timeout_s)
    return time.monotonic() - started


async def test_whole_cluster_down_30s_answers_503_and_recovers_without_restarts(
    cluster: KafkaCluster, fault_cell: FaultCell
) -> None:
    cell = fault_cell
    gateway = cell.gateway()
    await cell.wait_http(gateway)
    await _ready(cell, gateway, 60)
    router = cell.router()
    load = BatchLoad(cell, lambda: gateway.url, 3_000, batch=50, concurrency=2, pace_s=0.5)
    outage: Counter[str] = Counter()
    async with Inboxes(cell.bootstrap, cell.registry, cell.prefix) as inboxes:
        loading = asyncio.create_task(load.run())
        try:
            load.hold(1_000)  # released as the cluster dies: the outage lands mid-stream
            await load.reached(500)
            load.release()
            for node in cluster.nodes:
                node.kill()
            mid_stream = load.sent < 3_000
            stop = asyncio.Event()
            probing = asyncio.create_task(_probe(cell, gateway, outage, stop))
            await asyncio.sleep(OUTAGE_S)
            stop.set()
            await asyncio.wait_for(probing, 60)
            for node in cluster.nodes:
                node.start()
            restarted = time.monotonic()
            await asyncio.gather(
                *(
                    asyncio.to_thread(n.wait_ready, time.monotonic() + READY_TIMEOUT_S)
                    for n in cluster.nodes
                )
            )
            await _ready(cell, gateway, 120)
            ready_after = time.monotonic() - restarted
            await asyncio.wait_for(loading, 600)
        finally:
            loading.cancel()
        verdict = await _converge(cell, load, inboxes, router)
    assert gateway.alive(), "the gateway must ride the outage out, not exit"
    record_figures(
        "4-cluster-outage",
        order=4,
        title="Whole cluster down 30 s",
        load="3000 submissions via gateway batches of 50 + probes (single, batch, /readyz)",
        faults=f"kill -9 all 3 nodes for {OUTAGE_S:.0f} s, restart; gateway and router untouched",
        notes="during the outage: "
        + ", ".join(f"{k}: {n}" for k, n in sorted(outage.items()))
        + f"; /readyz green {ready_after:.1f} s after the nodes were restarted",
        **_figures(verdict, load),
    )
    assert mid_stream
    allowed = {"single 503 retry-after", "batch 503 retry-after", "readyz 503 retry-after"}
    assert set(outage) <= allowed, outage
    assert all(outage[k] > 0 for k in allowed), outage
    assert load.ledger.server_errors == 0, load.ledger.statuses
    verdict.assert_clean(router.log_tail())
