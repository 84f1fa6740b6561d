"""Jepsen-style checker: every acknowledged submission delivered exactly once to each permitted
recipient, and nothing else.

The ``Ledger`` records what the clients did: every message id ever attempted with the
recipients it may reach, which ones the gateway acknowledged (202) and every status seen.
``Inboxes`` reads the desks' inbox topics from the beginning with ``read_committed`` (what a
downstream reader sees) and counts copies per (message id, recipient desk). The ``Verdict``:

- lost: an acknowledged (message, permitted recipient) with no copy;
- duplicated: a (message, recipient) with more than one copy, or a router report (their ids
  are derived from their subject, so a repeated report is a duplicate too) seen twice;
- unexpected: a copy of a message never attempted, or at a desk it was not permitted to reach.

A message that was attempted but never acknowledged (the client gave up on a 503) may or may
not be delivered: that is indeterminate, counted but never an error.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Self

from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas import codec
from schemas.desks import DeskRegistry
from schemas.precedence import LANES_HIGH_FIRST
from schemas.topics import inbox_topic

ROOT = Path(__file__).resolve().parents[2]
FIGURES = ROOT / ".state" / "reliability"
ROUTER_DESK = "cell.router"


@dataclass
class Ledger:
    expected: dict[str, frozenset[str]] = field(default_factory=dict)  # attempted -> allowed
    acked: set[str] = field(default_factory=set)
    statuses: Counter[int] = field(default_factory=Counter)
    ack_times: list[float] = field(default_factory=list)
    client_errors: Counter[str] = field(default_factory=Counter)

    def attempt(self, message_id: str, recipients: Iterable[str]) -> None:
        self.expected[message_id] = frozenset(recipients)

    def ack(self, message_id: str) -> None:
        if message_id not in self.acked:
            self.acked.add(message_id)
            self.ack_times.append(time.monotonic())

    @property
    def server_errors(self) -> int:
        """5xx other than 503 (the only 5xx the gateway may answer)."""
        return sum(n for status, n in self.statuses.items() if status >= 500 and status != 503)

    def longest_ack_gap(self) -> float:
        times = sorted(self.ack_times)
        return max((b - a for a, b in itertools.pairwise(times)), default=0.0)


@dataclass
class Verdict:
    acknowledged: int
    expected_copies: int
    delivered: int
    lost: int
    duplicated: int
    unexpected: int
    indeterminate_delivered: int
    report_duplicates: int
    delivery_stall_s: float
    examples: dict[str, list[str]]

    def assert_clean(self, context: str = "") -> None:
        assert (self.lost, self.duplicated, self.unexpected, self.report_duplicates) == (
            0,
            0,
            0,
            0,
        ), f"{self}\n{context}"


class Inboxes:
    """Accumulates the committed contents of every inbox topic of a registry."""

    def __init__(self, bootstrap: str, registry: DeskRegistry, prefix: str) -> None:
        self.bootstrap = bootstrap
        self.desk_of = {
            inbox_topic(desk, lane, prefix=prefix): desk.id
            for desk in registry.desks
            for lane in LANES_HIGH_FIRST
        }
        self.copies: Counter[tuple[str, str]] = Counter()
        self.reports: Counter[tuple[str, str]] = Counter()
        self.originals_at: list[float] = []
        self._consumer: Any = None
        self._tps: list[TopicPartition] = []

    async def __aenter__(self) -> Self:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            isolation_level="read_committed",
            enable_auto_commit=False,
            request_timeout_ms=40_000,
            max_partition_fetch_bytes=1 << 20,
        )
        await asyncio.wait_for(self._consumer.start(), 60)
        self._tps = [TopicPartition(t, 0) for t in self.desk_of]
        self._consumer.assign(self._tps)
        await asyncio.wait_for(self._consumer.seek_to_beginning(*self._tps), 60)
        return self

    async def __aexit__(self, *_: object) -> None:
        await asyncio.wait_for(self._consumer.stop(), 30)

    def _take(self, records: Iterable[Any]) -> None:
        for r in records:
            desk = self.desk_of[r.topic]
            headers = dict(r.headers or ())
            originator = headers.get(codec.HEADER_ORIGINATOR, b"").decode()
            if originator == ROUTER_DESK:
                self.reports[(r.key.decode(), desk)] += 1
            else:
                self.copies[(r.key.decode(), desk)] += 1
                self.originals_at.append(r.timestamp / 1000)

    async def poll(self, timeout_ms: int = 500) -> None:
        batch = await asyncio.wait_for(self._consumer.getmany(timeout_ms=timeout_ms), 60)
        for part in batch.values():
            self._take(part)

    async def wait_until(self, done: Callable[[Inboxes], bool], timeout_s: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not done(self):
            if loop.time() > deadline:
                return False
            await self.poll()
        return True

    async def read_to_end(self, timeout_s: float = 120) -> None:
        ends = await asyncio.wait_for(self._consumer.end_offsets(self._tps), 60)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while [tp for tp in self._tps if await self._consumer.position(tp) < ends[tp]]:
            assert loop.time() < deadline, "inboxes not read to the end in time"
            await self.poll(200)

    def has_all(self, ledger: Ledger) -> bool:
        return all(
            self.copies[(mid, desk)] > 0 for mid in ledger.acked for desk in ledger.expected[mid]
        )

    def verdict(self, ledger: Ledger) -> Verdict:
        lost = [
            f"{mid}->{desk}"
            for mid in ledger.acked
            for desk in ledger.expected[mid]
            if self.copies[(mid, desk)] == 0
        ]
        duplicated = [f"{m}->{d} x{n}" for (m, d), n in self.copies.items() if n > 1]
        unexpected = [
            f"{m}->{d}"
            for (m, d) in self.copies
            if m not in ledger.expected or d not in ledger.expected[m]
        ]
        indeterminate = {m for (m, _) in self.copies if m in ledger.expected} - ledger.acked
        report_dups = [f"{m}->{d} x{n}" for (m, d), n in self.reports.items() if n > 1]
        times = sorted(self.originals_at)
        stall = max((b - a for a, b in itertools.pairwise(times)), default=0.0)
        return Verdict(
            acknowledged=len(ledger.acked),
            expected_copies=sum(len(ledger.expected[m]) for m in ledger.acked),
            delivered=sum(self.copies.values()),
            lost=len(lost),
            duplicated=len(duplicated),
            unexpected=len(unexpected),
            indeterminate_delivered=len(indeterminate),
            report_duplicates=len(report_dups),
            delivery_stall_s=round(stall, 2),
            examples={
                "lost": lost[:5],
                "duplicated": duplicated[:5],
                "unexpected": unexpected[:5],
                "report_duplicates": report_dups[:5],
            },
        )


def record_figures(scenario: str, **figures: Any) -> Path:
    """Write one scenario's figures for RELIABILITY.md (rendered at the end of the session)."""
    FIGURES.mkdir(parents=True, exist_ok=True)
    path = FIGURES / f"{scenario}.json"
    values = {
        "scenario": scenario,
        "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    for key, value in figures.items():
        values[key] = asdict(value) if isinstance(value, Verdict) else value
    path.write_text(json.dumps(values, indent=2, sort_keys=True, default=str) + "\n")
    return path
