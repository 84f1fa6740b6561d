"""One transactional producer per owned submit partition number.

Why per partition number: aiokafka commits offsets with the v0 TxnOffsetCommit (no group
generation, pre-KIP-447), so zombie fencing rests on the transactional id alone. The router
consumes with the range assignor, so an instance owns partition ``n`` of *every* lane (the
lanes have equal partition counts); ``<prefix><group>.p<n>`` is therefore a stable id for
"whoever routes partition n". A new owner starting that producer fences the previous one
(kill -9, or a still-running instance after a rebalance) and the broker aborts its open
transaction before the new owner reads the state or the committed offsets.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from services.runtime import kafka
from services.runtime.logging import get_logger

if TYPE_CHECKING:
    from services.router.settings import RouterSettings

log = get_logger(__name__)


class PartitionProducers:
    def __init__(self, settings: RouterSettings, group: str, stop: asyncio.Event) -> None:
        self._settings, self._group, self._stop = settings, group, stop
        self._producers: dict[int, Any] = {}

    def transactional_id(self, number: int) -> str:
        return f"{self._group}.p{number}"

    @property
    def owned(self) -> set[int]:
        return set(self._producers)

    def get(self, number: int) -> Any:  # noqa: ANN401 - aiokafka is untyped
        return self._producers[number]

    async def ensure(self, numbers: set[int]) -> None:
        """Own exactly ``numbers``: stop the others, start (and so fence) the new ones."""
        for number in sorted(set(self._producers) - numbers):
            await self._close(number)
        for number in sorted(numbers - set(self._producers)):
            producer = kafka.producer(
                self._settings,
                client_id=f"cell-router-p{number}",
                transactional_id=self.transactional_id(number),
                linger_ms=5,
            )
            await kafka.start_with_retry(
                producer,
                what=f"router producer p{number}",
                stop=self._stop,
                timeout_s=self._settings.state_catchup_timeout_s,
            )
            self._producers[number] = producer
            log.info("router_partition_owned", partition=number)

    async def _close(self, number: int) -> None:
        producer = self._producers.pop(number)
        await kafka.stop_client(producer, self._settings.kafka_timeout_s)
        log.info("router_partition_released", partition=number)

    async def close(self) -> None:
        for number in sorted(self._producers):
            await self._close(number)
