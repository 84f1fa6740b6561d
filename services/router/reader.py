"""Replays and tails the router state topic into ``RouterState`` (every partition).

Each router instance reads the whole compacted topic: it needs MINIMIZE (global) and the
acknowledgements other instances record for messages whose ack state it owns. Records this
instance wrote itself carry its instance id in a header and are skipped: they were applied
when planned (see ``route``), and replaying them late could briefly undo a newer value.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from aiokafka import TopicPartition

from services.runtime import kafka
from services.runtime.errors import BrokerUnavailable

if TYPE_CHECKING:
    from services.router.settings import RouterSettings
    from services.router.state import RouterState

HEADER_INSTANCE = "cell-router-instance"
_POLL_MS = 100
_CATCH_UP_POLL_S = 0.05


class StateReader:
    def __init__(
        self, settings: RouterSettings, topic: str, state: RouterState, instance: str
    ) -> None:
        self._settings, self._topic, self._state = settings, topic, state
        self._instance = instance.encode()
        self._consumer: Any = None
        self.partitions: list[TopicPartition] = []

    async def start(self, stop: asyncio.Event) -> None:
        self._consumer = kafka.consumer(
            self._settings, group_id=None, client_id="cell-router-state"
        )
        await kafka.start_with_retry(
            self._consumer,
            what="router state reader",
            stop=stop,
            timeout_s=self._settings.state_catchup_timeout_s,
        )
        # A consumer without a subscription has no metadata for the topic yet; aiokafka's
        # public ``topics()`` does not expose partitions, its client does.
        cluster = await asyncio.wait_for(
            self._consumer._client.fetch_all_metadata(),  # noqa: SLF001
            self._settings.kafka_timeout_s,
        )
        numbers = cluster.partitions_for_topic(self._topic)
        if not numbers:
            raise BrokerUnavailable(f"router state topic {self._topic} does not exist")
        self.partitions = [TopicPartition(self._topic, n) for n in sorted(numbers)]
        self._consumer.assign(self.partitions)
        await self._consumer.seek_to_beginning(*self.partitions)

    async def stop(self) -> None:
        if self._consumer is not None:
            await kafka.stop_client(self._consumer, self._settings.kafka_timeout_s)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            batch = await self._consumer.getmany(timeout_ms=_POLL_MS, max_records=5000)
            for tp, records in batch.items():
                for record in records:
                    if (HEADER_INSTANCE, self._instance) in record.headers or record.key is None:
                        continue
                    self._state.apply(tp.partition, record.key.decode(), record.value)

    async def catch_up(self, timeout_s: float) -> None:
        """Return once every record committed before this call has been applied."""
        ends = await asyncio.wait_for(
            self._consumer.end_offsets(self.partitions), self._settings.kafka_timeout_s
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        for tp in self.partitions:
            while await self._consumer.position(tp) < ends[tp]:
                if loop.time() > deadline:
                    raise BrokerUnavailable(f"router state not replayed within {timeout_s:.0f}s")
                await asyncio.sleep(_CATCH_UP_POLL_S)
