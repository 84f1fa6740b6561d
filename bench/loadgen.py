"""``python -m bench.loadgen MODE CONFIG_JSON``: load generators and raw baselines.

Modes print one JSON result line on stdout:

- ``produce``: the raw aiokafka arm: one producer (our settings: acks=all, idempotent,
  linger 5 ms) in a send loop, warm-up then a measured window; msgs/s acknowledged.
- ``relay``: a raw consume-produce loop (no transactions) from ``source`` to ``sink``,
  committing after each batch; stops after ``expect`` records or on SIGTERM.
- ``twohop``: open loop at a fixed rate into ``source``; reads ``sink`` and records, for every
  record, arrival time minus its *scheduled* send time (no coordinated omission).

Kafka arms run on the default asyncio loop, as the services do; HTTP load (``bench.httpload``)
runs on uvloop so the generator stays cheap.
"""

from __future__ import annotations

import asyncio
import collections
import resource
import signal
import sys
import time
from typing import Any

import msgspec

from services.runtime import kafka
from services.runtime.settings import CommonSettings

DEADLINE_S = 30.0
_WINDOW = 20_000  # unacknowledged sends before the loop waits for the oldest


class ProduceConfig(msgspec.Struct, frozen=True, kw_only=True):
    bootstrap: str
    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]
    warmup_s: float
    measure_s: float


class RelayConfig(msgspec.Struct, frozen=True, kw_only=True):
    bootstrap: str
    source: str
    sink: str
    group: str
    expect: int = 0  # 0: until SIGTERM


class TwoHopConfig(msgspec.Struct, frozen=True, kw_only=True):
    bootstrap: str
    source: str
    sink: str
    value: bytes
    rate: float
    samples: int
    warmup: int


def _settings(bootstrap: str) -> CommonSettings:
    return CommonSettings(kafka_bootstrap=bootstrap, kafka_timeout_s=DEADLINE_S)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def produce(cfg: ProduceConfig) -> dict[str, Any]:
    producer = kafka.producer(_settings(cfg.bootstrap), client_id="bench-raw")
    await asyncio.wait_for(producer.start(), DEADLINE_S)
    try:

        async def loop(seconds: float) -> int:
            pending: collections.deque[asyncio.Future[Any]] = collections.deque()
            count = 0
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                for _ in range(100):
                    pending.append(
                        await producer.send(
                            cfg.topic, value=cfg.value, key=cfg.key, headers=cfg.headers
                        )
                    )
                count += 100
                while len(pending) > _WINDOW:
                    await asyncio.wait_for(pending.popleft(), DEADLINE_S)
            await asyncio.wait_for(asyncio.gather(*pending), DEADLINE_S)
            return count

        await loop(cfg.warmup_s)
        cpu0, t0 = _cpu(), time.monotonic()
        count = await loop(cfg.measure_s)
        elapsed = time.monotonic() - t0
        return {"count": count, "rate": count / elapsed, "cpu": (_cpu() - cpu0) / elapsed}
    finally:
        await asyncio.wait_for(producer.stop(), DEADLINE_S)


async def relay(cfg: RelayConfig) -> dict[str, Any]:
    settings = _settings(cfg.bootstrap)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    consumer = kafka.consumer(settings, cfg.source, group_id=cfg.group, client_id="bench-relay")
    producer = kafka.producer(settings, client_id="bench-relay")
    await asyncio.wait_for(producer.start(), DEADLINE_S)
    await asyncio.wait_for(consumer.start(), DEADLINE_S)
    count, first, last, cpu0 = 0, 0.0, 0.0, 0.0
    announced = False
    try:
        while not stop.is_set() and (cfg.expect == 0 or count < cfg.expect):
            batches = await consumer.getmany(timeout_ms=100, max_records=1000)
            if not announced and consumer.assignment():
                # The harness starts timing only once the relay owns its partitions.
                sys.stdout.write("ready\n")
                sys.stdout.flush()
                announced = True
            records = [r for batch in batches.values() for r in batch]
            if not records:
                continue
            if count == 0:
                first, cpu0 = time.monotonic(), _cpu()
            futures = [
                await producer.send(cfg.sink, value=r.value, key=r.key, headers=list(r.headers))
                for r in records
            ]
            await asyncio.wait_for(asyncio.gather(*futures), DEADLINE_S)
            await asyncio.wait_for(consumer.commit(), DEADLINE_S)
            count += len(records)
            last = time.monotonic()
    finally:
        await asyncio.wait_for(consumer.stop(), DEADLINE_S)
        await asyncio.wait_for(producer.stop(), DEADLINE_S)
    elapsed = max(last - first, 1e-9)
    return {"count": count, "rate": count / elapsed, "cpu": (_cpu() - cpu0) / elapsed}


async def twohop(cfg: TwoHopConfig) -> dict[str, Any]:
    settings = _settings(cfg.bootstrap)
    producer = kafka.producer(settings, client_id="bench-twohop")
    consumer = kafka.consumer(
        settings, cfg.sink, group_id=None, client_id="bench-twohop", auto_offset_reset="latest"
    )
    await asyncio.wait_for(producer.start(), DEADLINE_S)
    await asyncio.wait_for(consumer.start(), DEADLINE_S)
    await asyncio.wait_for(consumer.seek_to_end(), DEADLINE_S)
    total = cfg.warmup + cfg.samples
    scheduled: dict[int, float] = {}
    arrived: dict[int, float] = {}
    done = asyncio.Event()

    async def receive() -> None:
        while len(arrived) < total:
            batches = await consumer.getmany(timeout_ms=100)
            now = time.monotonic()
            for batch in batches.values():
                for record in batch:
                    arrived[int(record.key)] = now
        done.set()

    receiver = asyncio.create_task(receive())
    sends: list[asyncio.Future[Any]] = []
    try:
        t0 = time.monotonic() + 0.05
        cpu0 = _cpu()
        for seq in range(total):
            at = t0 + seq / cfg.rate
            delay = at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            scheduled[seq] = at
            sends.append(await producer.send(cfg.source, value=cfg.value, key=str(seq).encode()))
        await asyncio.wait_for(asyncio.gather(*sends), DEADLINE_S)
        await asyncio.wait_for(done.wait(), DEADLINE_S)
        elapsed = time.monotonic() - t0
    finally:
        receiver.cancel()
        await asyncio.gather(receiver, return_exceptions=True)
        await asyncio.wait_for(consumer.stop(), DEADLINE_S)
        await asyncio.wait_for(producer.stop(), DEADLINE_S)
    latencies = [arrived[s] - scheduled[s] for s in range(cfg.warmup, total)]
    return {"latencies": latencies, "cpu": (_cpu() - cpu0) / elapsed, "rate": cfg.rate}


def main() -> int:
    mode, raw = sys.argv[1], sys.argv[2]
    result: dict[str, Any]
    if mode == "produce":
        result = asyncio.run(produce(msgspec.json.decode(raw, type=ProduceConfig)))
    elif mode == "relay":
        result = asyncio.run(relay(msgspec.json.decode(raw, type=RelayConfig)))
    elif mode == "twohop":
        result = asyncio.run(twohop(msgspec.json.decode(raw, type=TwoHopConfig)))
    else:
        from bench.httpload import main as http_main  # noqa: PLC0415 - uvloop only here

        result = http_main(mode, raw)
    sys.stdout.write(msgspec.json.encode(result).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
