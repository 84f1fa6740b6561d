"""Precedence-first consumption of the four submit lanes (DOMAIN §3: strict priority).

Strategy, per fetch:
1. Backlog per lane is known from the last fetch responses (last stable offset minus the
   consumer's position). Every lane *below* the highest lane with a backlog is paused, so the
   fetcher stops filling its buffers with ROUTINE while FLASH or IMMEDIATE traffic waits; lanes
   are resumed as soon as nothing higher is pending.
2. Records already fetched are drained highest lane first (``getmany`` restricted to one
   lane's partitions, no wait), so a buffered FLASH is never behind buffered ROUTINE.
3. Only when nothing is buffered does it wait (``poll_timeout_ms``) on all unpaused lanes.
A batch thus holds a single lane whenever several have traffic, and a FLASH arriving behind a
ROUTINE backlog is routed within about one batch, never after the backlog drains. FIFO within
a lane and partition is kept: records of one partition are returned in offset order.

Within a batch, ``preempted`` tells the worker between chunks of a lower lane whether a higher
lane has records waiting, or had some within the last ``ACTIVE_S`` (its next record is likely
on its way: a lower lane then commits in chunks, so that record waits for a small transaction,
not a batch of 500); the worker commits what it has planned and hands the rest back with
``rewind`` (a seek to the first record not planned).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from schemas.precedence import LANES_HIGH_FIRST, Precedence
from schemas.topics import submit_topic

if TYPE_CHECKING:
    from aiokafka import TopicPartition

ACTIVE_S = 1.0


class LaneScheduler:
    def __init__(
        self,
        consumer: Any,  # noqa: ANN401 - aiokafka is untyped
        *,
        prefix: str,
        max_records: int,
        poll_ms: int,
    ) -> None:
        self._consumer = consumer
        self._max_records, self._poll_ms = max_records, poll_ms
        self.lane_of: dict[str, Precedence] = {
            submit_topic(lane, prefix=prefix): lane for lane in LANES_HIGH_FIRST
        }
        self._seen: dict[Precedence, float] = {}  # lane -> when it last returned records

    @property
    def topics(self) -> list[str]:
        return list(self.lane_of)

    async def next_batch(self) -> dict[TopicPartition, list[Any]]:
        batch = await self._next()
        now = time.monotonic()
        for tp in batch:
            self._seen[self.lane_of[tp.topic]] = now
        return batch

    async def _next(self) -> dict[TopicPartition, list[Any]]:
        assigned: set[TopicPartition] = set(self._consumer.assignment())
        if not assigned:
            result: dict[TopicPartition, list[Any]] = await self._consumer.getmany(
                timeout_ms=self._poll_ms, max_records=self._max_records
            )
            return result
        by_lane = {
            lane: sorted(tp for tp in assigned if self.lane_of.get(tp.topic) is lane)
            for lane in LANES_HIGH_FIRST
        }
        await self._apply_pauses(by_lane)
        paused = self._consumer.paused()
        for lane in LANES_HIGH_FIRST:
            tps = [tp for tp in by_lane[lane] if tp not in paused]
            if not tps:
                continue
            batch = await self._consumer.getmany(*tps, timeout_ms=0, max_records=self._max_records)
            if batch:
                return dict(batch)
        waited: dict[TopicPartition, list[Any]] = await self._consumer.getmany(
            timeout_ms=self._poll_ms, max_records=self._max_records
        )
        return waited

    async def preempted(self, lane: Precedence) -> bool:
        """Whether a lane above ``lane`` has records waiting (as of the last fetch responses) or
        returned some within the last ``ACTIVE_S``."""
        recent = time.monotonic() - ACTIVE_S
        if any(when > recent for p, when in self._seen.items() if p.rank > lane.rank):
            return True
        assigned: set[TopicPartition] = set(self._consumer.assignment())
        higher = [tp for tp in assigned if self.lane_of[tp.topic].rank > lane.rank]
        return await self._has_backlog(higher)

    def rewind(self, tp: TopicPartition, offset: int) -> None:
        """Hand records from ``offset`` on back: the next fetches return them again.

        A partition revoked meanwhile is left alone: its next owner starts from the committed
        offset, which is at or below ``offset``.
        """
        if tp in self._consumer.assignment():
            self._consumer.seek(tp, offset)

    async def _apply_pauses(self, by_lane: dict[Precedence, list[TopicPartition]]) -> None:
        top: Precedence | None = None
        for lane in LANES_HIGH_FIRST:
            if await self._has_backlog(by_lane[lane]):
                top = lane
                break
        for lane, tps in by_lane.items():
            if not tps:
                continue
            if top is not None and lane.rank < top.rank:
                self._consumer.pause(*tps)
            else:
                self._consumer.resume(*tps)

    async def _has_backlog(self, tps: list[TopicPartition]) -> bool:
        for tp in tps:
            end = self._consumer.last_stable_offset(tp)
            if end is not None and await self._consumer.position(tp) < end:
                return True
        return False
