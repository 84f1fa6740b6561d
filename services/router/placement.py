"""Kafka's default key placement, set by the router on its outputs instead of per send.

aiokafka's default partitioner hashes every keyed record with a pure-Python ``murmur2`` and
rebuilds the topic's partition lists on each send: 15 % of the router's CPU (py-spy, bench
``router_eos``). The router knows its outputs' keys before sending and one message id keys
several of them (its inbox copies and its audit records), so it places them itself and sends
with an explicit ``partition`` (the hash cached per key in ``services.runtime.partitioner``).
The placement is the Java client's and aiokafka's
(``murmur2(key) & 0x7fffffff % partitions``): readers see the same layout as before.
"""

from __future__ import annotations

import asyncio
from typing import Any

from services.router.outputs import Output
from services.runtime.partitioner import partition_of


async def place(
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
                partition=partition_of(out.key, count),
            )
        placed.append(out)
    return placed
