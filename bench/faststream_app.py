"""``python -m bench.faststream_app CONFIG_JSON``: the monitoring handler as a FastStream app.

The baseline of ``consumer_vs_faststream``: ``MonitoringService.handle`` (the same object the
monitoring service runs) behind a FastStream Kafka subscriber written the way FastStream's
documentation shows: one call per message, each output published with ``broker.publish``
(awaiting its acknowledgement), the offset committed after the handler returns
(``AckPolicy.ACK``). Producer settings as ours (acks=all, idempotent, linger 5 ms);
read_committed. FastStream is a benchmark-only dependency.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

import msgspec
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage

from services.monitoring.geo import load_geo
from services.monitoring.service import MonitoringService
from services.monitoring.settings import MonitoringSettings
from services.monitoring.worker import service_config


class AppConfig(msgspec.Struct, frozen=True, kw_only=True):
    bootstrap: str
    prefix: str
    topic: str
    group: str
    geo_file: str


async def serve(cfg: AppConfig) -> None:
    settings = MonitoringSettings(kafka_bootstrap=cfg.bootstrap, topic_prefix=cfg.prefix)
    service = MonitoringService(service_config(settings), load_geo(Path(cfg.geo_file)))
    broker = KafkaBroker(
        cfg.bootstrap, acks="all", enable_idempotence=True, linger_ms=5, client_id="faststream"
    )

    @broker.subscriber(
        cfg.topic,
        group_id=cfg.group,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        ack_policy=AckPolicy.ACK,
    )
    async def handle(message: KafkaMessage) -> None:
        for out in service.handle(message.raw_message, datetime.now(UTC)):  # type: ignore[arg-type]
            await broker.publish(
                out.value,
                out.topic,
                key=out.key,
                headers={name: value.decode() for name, value in out.headers},
            )

    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await broker.start()
    try:
        await stop.wait()
    finally:
        await broker.stop()


def main() -> int:
    asyncio.run(serve(msgspec.json.decode(sys.argv[1], type=AppConfig)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
