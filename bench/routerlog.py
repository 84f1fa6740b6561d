"""What the router's own log says about a run: transaction time, batch sizes, outcomes.

Each ``message_routed`` line carries ``duration_ms``, the time of the transaction that routed
it (the same for every record of one transaction), so consecutive lines with the same
duration and partition are one transaction.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from bench.stats import Latency


class _Line(msgspec.Struct, kw_only=True):
    event: str = ""
    duration_ms: float = 0.0
    partition: int = -1
    outcome: str = ""


def stats(log: Path) -> dict[str, float | int]:
    transactions: list[tuple[float, int]] = []  # (duration ms, records)
    last: tuple[float, int] | None = None
    routed = 0
    decoder = msgspec.json.Decoder(_Line)
    with log.open("rb") as lines:
        for raw in lines:
            try:
                line = decoder.decode(raw)
            except msgspec.DecodeError:
                continue
            if line.event != "message_routed":
                continue
            routed += line.outcome == "routed"
            key = (line.duration_ms, line.partition)
            if key == last:
                duration, count = transactions[-1]
                transactions[-1] = (duration, count + 1)
            else:
                transactions.append((line.duration_ms, 1))
            last = key
    if not transactions:
        return {}
    times = Latency.of([d / 1000 for d, _ in transactions])
    records = sum(n for _, n in transactions)
    return {
        "router_transactions": len(transactions),
        "router_records_per_txn": round(records / len(transactions), 1),
        "router_txn_p50_ms": times.p50_ms,
        "router_txn_p99_ms": times.p99_ms,
        # The share delivered rather than refused or dead-lettered: a scenario meant to
        # measure routing shows here if its input is refused instead.
        "router_routed_share": round(routed / records, 3),
    }
