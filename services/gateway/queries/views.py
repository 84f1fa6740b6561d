"""``StateViews``: the four compacted state topics materialised in the gateway's memory.

One consumer per gateway process (no group: every gateway reads everything, read_committed:
only snapshots the services committed) is assigned every partition of
``cell.state.{incidents,cases,requests,orders}``, seeks to the beginning and follows them
for as long as the app runs. Each record replaces the entry under its key; a tombstone
(no value) deletes it; a record that does not decode is logged, counted and skipped (the
entry keeps its last readable version): a bad record never stops the views.

Availability: queries are answered once a session has read every partition up to the end
offsets it saw when it started (until then: 503 ``views_unavailable`` with Retry-After).
When Kafka fails the views keep answering from the last complete state ("stale") while a
new session rebuilds a fresh one from the beginning, swapped in once it has caught up
(a rebuild, not a resume: a tombstone compacted away while we were gone cannot be missed).
A broker that is down at start-up never delays the gateway: the session runs as a task.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError
from prometheus_client import CollectorRegistry, Counter

from schemas.topics import STATE_ENTITIES, state_topic
from services.commission import state as commission_state
from services.gateway.inbox.fetch import reraise_if_cancelling
from services.gateway.queries import convert
from services.gateway.queries.answers import ViewsStatus
from services.gateway.queries.index import ViewState, Visible
from services.gateway.settings import GatewaySettings
from services.monitoring import records as monitoring_records
from services.runtime import kafka
from services.runtime.errors import BrokerUnavailable
from services.runtime.logging import get_logger
from services.support import state as support_state
from services.tasking import state as tasking_state

log = get_logger(__name__)

_POLL_MS = 200
_BATCH = 2000
_MAX_BACKOFF_S = 10.0
_DECODE_ERRORS = (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError, ValueError)


def apply_record(state: ViewState, entity: str, key: str, value: bytes | None) -> str:
    """Apply one state record; returns the outcome counted in the metrics.

    ``applied`` / ``deleted`` / ``ignored`` (a record type the queries do not serve: support
    alerts, tasking unit SITREPs) / ``over_capacity``. Raises on an undecodable value.
    """
    table: Any = {
        "incidents": state.incidents,
        "cases": state.cases,
        "requests": state.requests,
        "orders": state.orders,
    }[entity]
    if entity == "incidents" and not monitoring_records.is_incident_key(key.encode()):
        return "ignored"  # the monitoring service's daily-summary schedule mark
    if value is None:
        return "deleted" if table.delete(key) else "ignored"
    entry = _entry(entity, value)
    if entry is None:
        return "ignored"
    return "applied" if table.put(key, entry) else "over_capacity"


def _entry(entity: str, value: bytes) -> Visible[Any] | None:
    match entity:
        case "incidents":
            incident = monitoring_records.decode_record(value)
            return Visible(incident.label, incident.traffic_type, convert.incident_answer(incident))
        case "cases":
            case = commission_state.decode_record(value)
            return Visible(case.label, case.traffic_type, convert.case_answer(case))
        case "requests":
            request = support_state.decode_record(value)
            if not isinstance(request, support_state.RequestRecord):
                return None
            return Visible(request.label, request.traffic_type, convert.request_answer(request))
        case "orders":
            order = tasking_state.decode_record(value)
            if not isinstance(order, tasking_state.OrderRecord):
                return None
            return Visible(order.label, order.traffic_type, convert.order_answer(order))
    raise ValueError(f"unknown state entity {entity!r}")


class StateViews:
    """Owns the views' consumer task; ``state`` is None until the first catch-up."""

    def __init__(self, settings: GatewaySettings, registry: CollectorRegistry) -> None:
        self._settings = settings
        self._topics = {state_topic(e, prefix=settings.topic_prefix): e for e in STATE_ENTITIES}
        self.state: ViewState | None = None
        self.stale = False
        self.skipped = 0
        self._backoff = 0.5
        self._full: set[str] = set()  # entities whose cap was reported in this session
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._records = Counter(
            "cell_gateway_view_records",
            "State records applied to the query views, by entity and outcome "
            "(applied, deleted, ignored, undecodable, over_capacity).",
            ("entity", "outcome"),
            registry=registry,
        )

    def status(self) -> ViewsStatus:
        state = self.state
        name = "starting" if state is None else ("stale" if self.stale else "ready")
        return ViewsStatus(state=name, entries=state.sizes() if state else {}, skipped=self.skipped)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="state-views")

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        self._stop.set()
        task.cancel()
        # Bounded: the session stops its client within its own deadline after the cancel.
        done, _ = await asyncio.wait({task}, timeout=3 * self._settings.kafka_timeout_s)
        if not done:
            log.error("state_views_did_not_stop")
        elif not task.cancelled() and task.exception() is not None:
            log.error("state_views_failed", exc_info=task.exception())

    async def _run(self) -> None:
        settings = self._settings
        while True:
            consumer = kafka.consumer(settings, group_id=None, client_id="gateway-state-views")
            try:
                # Cancelled half-way (the app stopping), the start is let end and the client
                # stopped inside the helper: aiokafka leaks a cancelled bootstrap's socket.
                await kafka.start_with_retry(
                    consumer,
                    what="state views",
                    stop=self._stop,
                    timeout_s=settings.kafka_timeout_s,
                )
                await self._session(consumer)
            except (BrokerUnavailable, KafkaError, TimeoutError, OSError) as exc:
                reraise_if_cancelling(exc)
                self.stale = self.state is not None
                log.warning("state_views_session_failed", error=repr(exc), retry_in_s=self._backoff)
            finally:
                await kafka.stop_client(consumer, settings.kafka_timeout_s)
            await asyncio.sleep(self._backoff)
            self._backoff = min(self._backoff * 2, _MAX_BACKOFF_S)

    async def _session(self, consumer: Any) -> None:  # noqa: ANN401 - aiokafka is untyped
        settings = self._settings
        timeout = settings.kafka_timeout_s
        tps: list[TopicPartition] = []
        for topic in self._topics:
            numbers = await kafka.partitions_of(consumer, topic, timeout_s=timeout)
            tps += [TopicPartition(topic, n) for n in numbers]
        consumer.assign(tps)
        await asyncio.wait_for(consumer.seek_to_beginning(*tps), timeout)
        ends = await asyncio.wait_for(consumer.end_offsets(tps), timeout)
        fresh = ViewState(settings.views_max_entries)
        self._full.clear()
        pending = {tp for tp in tps if ends[tp] > 0}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + settings.views_catchup_timeout_s
        log.info("state_views_session_started", partitions=len(tps), to_read=len(pending))
        applied, caught_up = 0, False
        while True:
            if not caught_up:
                for tp in list(pending):
                    if await asyncio.wait_for(consumer.position(tp), timeout) >= ends[tp]:
                        pending.discard(tp)
                if pending and loop.time() > deadline:
                    limit = settings.views_catchup_timeout_s
                    raise TimeoutError(f"state views not caught up within {limit:.0f}s")
                if not pending:
                    caught_up = True
                    self.state, self.stale, self._backoff = fresh, False, 0.5
                    log.info("state_views_caught_up", records=applied, **fresh.sizes())
            batch = await consumer.getmany(timeout_ms=_POLL_MS, max_records=_BATCH)
            for tp, messages in batch.items():
                entity = self._topics[tp.topic]
                for message in messages:
                    applied += self._apply(fresh, entity, message)

    def _apply(self, state: ViewState, entity: str, message: Any) -> int:  # noqa: ANN401 - aiokafka
        try:
            if message.key is None:
                raise ValueError("state record without a key")
            outcome = apply_record(state, entity, message.key.decode(), message.value)
        except _DECODE_ERRORS as exc:
            self.skipped += 1
            self._records.labels(entity, "undecodable").inc()
            log.warning(
                "state_record_skipped",
                topic=message.topic,
                partition=message.partition,
                offset=message.offset,
                error=str(exc),
            )
            return 0
        self._records.labels(entity, outcome).inc()
        if outcome == "over_capacity":
            self.skipped += 1
            if entity in self._full:
                return 0
            self._full.add(entity)
            log.warning(
                "state_view_full",
                entity=entity,
                max_entries=state.max_entries,
                topic=message.topic,
                offset=message.offset,
            )
            return 0
        return 1
