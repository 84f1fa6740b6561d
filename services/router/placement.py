"""Kafka's default key placement, computed by the router once per key instead of per send.

aiokafka's default partitioner hashes every keyed record with a pure-Python ``murmur2`` and
rebuilds the topic's partition lists on each send: 15 % of the router's CPU (py-spy, bench
``router_eos``). The router knows its outputs' keys before sending and one message id keys
several of them (its inbox copies and its audit records), so it places them itself and sends
with an explicit ``partition``. The placement is the Java client's and aiokafka's
(``murmur2(key) & 0x7fffffff % partitions``): readers see the same layout as before.
"""

from __future__ import annotations

import asyncio
from typing import Any

from services.router.outputs import Output
from services.runtime.partitioner import murmur2


class Placement:
    """Partition of a key in a topic of ``n`` partitions, each key's hash kept (bounded).

    The hash is kept per key, not per (key, partition count): the inbox copies and the audit
    record of one message share its id as key but not their topics' partition counts.
    """

    def __init__(self, max_keys: int = 16_384) -> None:
        self._max_keys = max_keys
        self._hashes: dict[bytes, int] = {}

    def partition(self, key: bytes, partitions: int) -> int:
        positive = self._hashes.get(key)
        if positive is None:
            if len(self._hashes) >= self._max_keys:
                self._hashes.clear()  # message-id keys do not come back: no LRU bookkeeping
            positive = self._hashes[key] = murmur2(key) & 0x7FFFFFFF
        return positive % partitions

    async def place(
        self,
        producer: Any,  # noqa: ANN401 - aiokafka is untyped
        outputs: list[Output],
        timeout_s: float,
    ) -> list[Output]:
        """``outputs`` with the partition of each keyed one set, in the same order.

        The partition counts come from the producer's metadata (a round trip only for a
        topic it does not know yet), once per topic and call.
        """
        counts: dict[str, int] = {}
        placed = []
        for out in outputs:
            if out.partition is None and out.key is not None:
                count = counts.get(out.topic)
                if count is None:
                    found = await asyncio.wait_for(producer.partitions_for(out.topic), timeout_s)
                    count = counts[out.topic] = len(found)
                out = Output(  # noqa: PLW2901 - the same record, placed
                    topic=out.topic,
                    key=out.key,
                    value=out.value,
                    headers=out.headers,
                    partition=self.partition(out.key, count),
                )
            placed.append(out)
        return placed
