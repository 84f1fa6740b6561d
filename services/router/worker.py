"""The router's transactional loop: submit lanes → guard → inboxes, reports, audit, state.

Exactly once. One consumer group over the four submit lanes, range-assigned, so an instance
owns partition number ``n`` of every lane; for each ``n`` it owns one transactional producer
(``producers``: the id is stable per partition number, which fences a killed or rebalanced
predecessor, as aiokafka's offset commit carries no group generation). Each consumed batch is
split by partition number and every part is one transaction: inbox copies, reports, domain
copies, audit, dead letters, router state and the input offsets
(``send_offsets_to_transaction``) commit or abort together. Every reader is read_committed.
A lower lane's part is planned in chunks (``preempt_chunk_records``); when a higher lane has
records waiting at a chunk boundary (or had some within the last second), the part commits what
is planned and rewinds the rest, so a FLASH never waits for a whole ROUTINE batch (``lanes``).

Failure: any error inside a transaction (abort, fencing, timeout) ends the session: clients
are closed, the in-memory state is dropped, and a new session rejoins the group, rebuilds the
state from the compacted topic and resumes from the committed offsets. Nothing is half-done.

State (``state``): replayed at start and tailed by ``reader``; on every assignment the new
producers are started first (fencing, aborting a predecessor's open transaction), then the
state is replayed up to the last stable offset, and only then are records routed.

Ack deadlines: an owned task wakes every ``ack_check_interval_s`` and, under the same lock as
routing, commits escalations and state clean-up per owned state partition (``acks.sweep``).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiokafka import ConsumerRebalanceListener, TopicPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor

from schemas.desks import RegistryError, load_registry
from schemas.topics import state_topic
from services.router import acks, guard
from services.router.lanes import LaneScheduler
from services.router.outputs import Output
from services.router.placement import place
from services.router.producers import PartitionProducers
from services.router.reader import HEADER_INSTANCE, StateReader
from services.router.route import Context, Plan, plan
from services.router.state import RouterState
from services.runtime import canonical, kafka, metrics, sessions, transaction
from services.runtime.deadletter import SourceRecord
from services.runtime.errors import BrokerUnavailable, ConfigurationError
from services.runtime.lifecycle import TaskGroupOwner, wait_or_stop
from services.runtime.logging import get_logger

if TYPE_CHECKING:
    from schemas.desks import DeskRegistry
    from services.router.settings import RouterSettings

log = get_logger(__name__)
Observer = Callable[[Any, Plan], None]
# aiokafka sends no new fetch to a broker while one is in flight there: with the default
# 500 ms long poll, a partition whose records were just consumed waits for the fetch still
# parked on the other lanes. A short long poll bounds that wait (bench: e2e_latency).
_FETCH_MAX_WAIT_MS = 20
# aiokafka also sends no fetch to a broker while records fetched from it wait unconsumed (up to
# 100 ms): a ROUTINE fetch larger than a batch would hide a FLASH arrival from the preemption
# check for that long. Hence ``fetch_partition_bytes`` of about one batch.


async def run(
    settings: RouterSettings,
    stop: asyncio.Event,
    *,
    registry: DeskRegistry | None = None,
    observer: Observer | None = None,
) -> None:
    """Route until ``stop`` is set; a failed session is rebuilt from Kafka, not patched."""
    try:
        desks = registry if registry is not None else load_registry(Path(settings.desks_file))
    except RegistryError as exc:
        raise ConfigurationError(str(exc)) from exc

    async def session(stop: asyncio.Event) -> None:
        await _Session(settings, desks, observer).run(stop)

    await sessions.supervise(session, stop, component="router", event="router_session_failed")


class _Session:
    def __init__(
        self, settings: RouterSettings, registry: DeskRegistry, observer: Observer | None
    ) -> None:
        self.settings, self.registry, self.observer = settings, registry, observer
        self.group = f"{settings.topic_prefix}{settings.group_id}"
        self.instance = uuid.uuid4().hex
        self.state = RouterState(timedelta(seconds=settings.dedup_window_s))
        self.lock = asyncio.Lock()
        self.timeout_s = settings.kafka_timeout_s * 3
        self.state_topic = state_topic("router", prefix=settings.topic_prefix)
        self.lag = metrics.LagTracker("router")

    async def run(self, stop: asyncio.Event) -> None:
        settings = self.settings
        async with AsyncExitStack() as stack:
            tasks = TaskGroupOwner()
            stack.push_async_callback(tasks.aclose)
            self.reader = StateReader(settings, self.state_topic, self.state, self.instance)
            stack.push_async_callback(self.reader.stop)
            await self.reader.start(stop)
            self.ctx = Context(
                registry=self.registry,
                prefix=settings.topic_prefix,
                router_desk=settings.service_desk,
                state_partitions=len(self.reader.partitions),
            )
            background = [tasks.spawn(self.reader.run(stop), name="router-state-reader")]
            self.producers = PartitionProducers(settings, self.group, stop)
            stack.push_async_callback(self.producers.close)
            consumer = kafka.consumer(
                settings,
                group_id=self.group,
                client_id="cell-router",
                partition_assignment_strategy=(RangePartitionAssignor,),
                max_partition_fetch_bytes=settings.fetch_partition_bytes,
                fetch_max_wait_ms=_FETCH_MAX_WAIT_MS,
            )
            scheduler = LaneScheduler(
                consumer,
                prefix=settings.topic_prefix,
                max_records=settings.batch_max_records,
                poll_ms=settings.poll_timeout_ms,
            )
            consumer.subscribe(scheduler.topics, listener=_Rebalance(self))
            stack.push_async_callback(self._stop_consumer, consumer)
            await kafka.start_with_retry(
                consumer, what="router consumer", stop=stop, timeout_s=self.timeout_s
            )
            background.append(tasks.spawn(self._ack_loop(stop), name="router-ack-check"))
            log.info("router_started", group=self.group, instance=self.instance)
            while not stop.is_set():
                for task in background:
                    if task.done():
                        task.result()  # re-raise its failure: the session restarts
                        raise BrokerUnavailable(f"{task.get_name()} ended unexpectedly")
                batch = await asyncio.wait_for(scheduler.next_batch(), self.timeout_s)
                if batch:
                    await self._handle(batch, scheduler)
                await self.lag.update(consumer, self.timeout_s)

    async def _stop_consumer(self, consumer: Any) -> None:  # noqa: ANN401 - aiokafka is untyped
        await kafka.stop_client(consumer, self.timeout_s)

    async def on_assigned(self, assigned: set[TopicPartition]) -> None:
        async with self.lock:
            await self.producers.ensure({tp.partition for tp in assigned})
            await self.reader.catch_up(self.settings.state_catchup_timeout_s)
            log.info("router_assigned", partitions=sorted({tp.partition for tp in assigned}))

    async def on_revoked(self) -> None:
        async with self.lock:  # waits for the batch in flight to commit
            log.info("router_revoked")

    def _minimize(self) -> list[guard.MinimizeRule]:
        rules = []
        for entry in self.state.minimize.values():
            scope = {desk.id for address in entry.scope for desk in self.registry.expand(address)}
            rules.append(
                guard.MinimizeRule(
                    minimize_id=entry.minimize_id, scope=frozenset(scope), threshold=entry.threshold
                )
            )
        return rules

    async def _handle(
        self, batch: dict[TopicPartition, list[Any]], scheduler: LaneScheduler
    ) -> None:
        async with self.lock:
            owned = self.producers.owned
            queues: dict[int, list[tuple[TopicPartition, Any]]] = {}
            for tp, records in sorted(
                batch.items(), key=lambda part: -scheduler.lane_of[part[0].topic].rank
            ):
                if records and tp.partition in owned:
                    queues.setdefault(tp.partition, []).extend((tp, r) for r in records)
            work = await self._plan(queues, scheduler)
            started = time.monotonic()
            try:
                await asyncio.gather(
                    *(
                        self._commit(
                            number, [o for _, p in planned for o in self._outputs(p)], offsets
                        )
                        for number, planned, offsets in work
                    )
                )
            except BaseException:  # the session ends; the batch is redelivered to the next one
                metrics.observe_failed("router", sum(len(planned) for _, planned, _ in work))
                raise
            elapsed_ms = round((time.monotonic() - started) * 1000, 1)
            for _, planned, _ in work:
                for record, result in planned:
                    self._log(record, result, elapsed_ms)

    async def _plan(
        self, queues: dict[int, list[tuple[TopicPartition, Any]]], scheduler: LaneScheduler
    ) -> list[tuple[int, list[tuple[Any, Plan]], dict[TopicPartition, int]]]:
        """Plan each partition number's records (highest lane first, offset order) in chunks.

        Between chunks the loop yields, so the consumer takes in fetch responses, and asks the
        scheduler whether a higher lane has records waiting (or had lately); if so, that number
        stops: what is planned commits (its offsets are each partition's last planned record
        + 1) and the rest is rewound, to be fetched again after the higher lane. Only planned
        records touch the state (``plan`` applies its dedup writes at once), so a rewound
        record is routed later exactly as if it had never been fetched.
        """
        now = datetime.now(UTC)
        minimize = self._minimize()
        chunk = self.settings.preempt_chunk_records
        planned: dict[int, list[tuple[Any, Plan]]] = {number: [] for number in queues}
        offsets: dict[int, dict[TopicPartition, int]] = {number: {} for number in queues}
        done = 0
        active = sorted(queues)
        while active:
            for number in active:
                for tp, record in queues[number][done : done + chunk]:
                    result = plan(
                        record,
                        ctx=self.ctx,
                        state=self.state,
                        minimize=minimize,
                        now=now,
                        partition=number,
                    )
                    planned[number].append((record, result))
                    offsets[number][tp] = record.offset + 1
            done += chunk
            active = [number for number in active if len(queues[number]) > done]
            if not active:
                break
            await asyncio.sleep(0)  # the fetcher's responses carry a higher lane's backlog
            for number in list(active):
                rest = queues[number][done:]
                if await scheduler.preempted(scheduler.lane_of[rest[0][0].topic]):
                    active.remove(number)
                    self._rewind(number, rest, scheduler)
        return [(number, planned[number], offsets[number]) for number in queues]

    @staticmethod
    def _rewind(
        number: int, rest: list[tuple[TopicPartition, Any]], scheduler: LaneScheduler
    ) -> None:
        first: dict[TopicPartition, int] = {}
        for tp, record in rest:
            first.setdefault(tp, record.offset)
        for tp, offset in first.items():
            scheduler.rewind(tp, offset)
        log.info(
            "router_yielded",
            partition=number,
            rewound=len(rest),
            lanes=sorted({tp.topic for tp in first}),
        )

    def _outputs(self, result: Plan) -> list[Output]:
        header = ((HEADER_INSTANCE, self.instance.encode()),)
        state = [
            Output(
                topic=self.state_topic,
                key=write.key.encode(),
                value=write.value,
                headers=header,
                partition=write.partition,
            )
            for write in result.state
        ]
        return [*result.outputs, *state]

    async def _commit(
        self, number: int, outputs: list[Output], offsets: dict[TopicPartition, int] | None
    ) -> None:
        producer = self.producers.get(number)
        await transaction.commit(
            producer,
            await place(producer, outputs, self.timeout_s),
            offsets=offsets,
            group=self.group,
            timeout_s=self.timeout_s,
            batched=True,
        )

    def _log(self, record: SourceRecord, result: Plan, elapsed_ms: float) -> None:
        canonical.handled(
            "router",
            record,
            facts=canonical.Facts(
                message_id=result.message_id,
                desk=result.originator,
                precedence=result.precedence,
                kind=result.kind,
            ),
            duration_s=elapsed_ms / 1000,
            outcome=result.outcome,
            now=datetime.now(UTC),
            event="message_routed",
            delivered=result.delivered,
            refused=result.refused,
            reason=result.reason,
        )
        if self.observer is not None:
            self.observer(record, result)

    async def _ack_loop(self, stop: asyncio.Event) -> None:
        while not await wait_or_stop(stop, self.settings.ack_check_interval_s):
            async with self.lock:
                owned = self.producers.owned
                sweeps = acks.sweep(self.state, self.ctx, datetime.now(UTC), owned)
                commits = []
                for number, part in sweeps.items():
                    for write in part.state:
                        self.state.apply(write.partition, write.key, write.value)
                    result = Plan(outcome="swept", outputs=part.outputs, state=part.state)
                    commits.append(self._commit(number, self._outputs(result), None))
                    for message_id in part.escalated:
                        log.info("ack_escalated", message_id=message_id, partition=number)
                await asyncio.gather(*commits)


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka is untyped
    def __init__(self, session: _Session) -> None:
        self._session = session

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:  # noqa: ARG002
        await self._session.on_revoked()

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self._session.on_assigned(assigned)
