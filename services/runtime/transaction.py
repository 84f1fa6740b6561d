"""One Kafka transaction: records and the consumed input offsets commit together, or nothing does.

Shared by the router and the domain services' transactional loop. Two aiokafka behaviours are
absorbed here so the callers only see the classified errors their sessions restart on:

- When a send fails half-way, the futures of the records already sent would end with an
  exception nobody reads ("Future exception was never retrieved" at shutdown); they are read.
- When the producer's sender task dies ("Unexpected error during batch delivery", e.g. a
  coordinator lost during a broker kill, aiokafka #1004 / #1151), its transaction manager is
  left in a fatal state: the next ``begin_transaction`` fails an internal assertion, and a
  send in the transaction under way raises ``IllegalOperation`` ("not in transaction"), which
  is not a ``KafkaError``. Both are a broken client, not a bug of ours: they are raised as
  ``BrokerUnavailable`` and the session is rebuilt with new clients.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from aiokafka import TopicPartition
from aiokafka.errors import IllegalOperation

from services.runtime.errors import BrokerUnavailable


class Record(Protocol):
    @property
    def topic(self) -> str: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> tuple[tuple[str, bytes], ...]: ...


async def commit(
    producer: Any,  # noqa: ANN401 - aiokafka is untyped
    records: Sequence[Record],
    *,
    offsets: Mapping[TopicPartition, int] | None,
    group: str,
    timeout_s: float,
    batched: bool = False,
) -> None:
    """Produce ``records`` and commit ``offsets`` for ``group`` atomically within ``timeout_s``.

    ``batched``: the records that name their ``partition`` are sent as record batches, one per
    topic partition in record order (aiokafka's ``create_batch`` / ``send_batch``), with one
    future per batch instead of one per record: about a third of the client's CPU per record.
    """
    futures: list[asyncio.Future[Any]] = []

    async def transaction() -> None:
        async with producer.transaction():
            records_left: Sequence[Record] = records
            if batched:
                records_left = await _send_batches(producer, records, futures)
            for out in records_left:  # one by one: a failed send keeps the futures already made
                future = await producer.send(
                    out.topic,
                    value=out.value,
                    key=out.key,
                    headers=list(out.headers),
                    partition=getattr(out, "partition", None),
                )
                futures.append(future)
            await asyncio.gather(*futures)
            if offsets:
                await producer.send_offsets_to_transaction(dict(offsets), group)

    try:
        await asyncio.wait_for(transaction(), timeout_s)
    except (AssertionError, IllegalOperation, asyncio.InvalidStateError) as exc:
        raise BrokerUnavailable(f"Kafka producer unusable after a failure: {exc!r}") from exc
    finally:
        for future in futures:
            future.add_done_callback(_read_outcome)


async def _send_batches(
    producer: Any,  # noqa: ANN401 - aiokafka is untyped
    records: Sequence[Record],
    futures: list[asyncio.Future[Any]],
) -> list[Record]:
    """Send the placed ``records`` as batches (futures appended); return the unplaced ones."""
    groups: dict[tuple[str, int], list[Record]] = {}
    unplaced: list[Record] = []
    for out in records:
        partition = getattr(out, "partition", None)
        if partition is None:
            unplaced.append(out)
        else:
            groups.setdefault((out.topic, partition), []).append(out)
    for (topic, partition), group in groups.items():
        batch = producer.create_batch()
        for out in group:
            fields = {"key": out.key, "value": out.value, "headers": list(out.headers)}
            if batch.append(timestamp=None, **fields) is None:  # full: send it, start the next
                futures.append(await producer.send_batch(batch, topic, partition=partition))
                batch = producer.create_batch()
                batch.append(timestamp=None, **fields)  # an empty batch takes any record
        futures.append(await producer.send_batch(batch, topic, partition=partition))
    return unplaced


def _read_outcome(future: asyncio.Future[Any]) -> None:
    # Marks the exception retrieved: the transaction's own error is what the caller handles.
    if not future.cancelled():
        future.exception()
