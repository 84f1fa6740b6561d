"""Kafka clients with our delivery semantics stated once.

aiokafka's producer defaults (acks=1, no idempotence) can lose acknowledged data; every
producer here is `acks="all"` and idempotent, or transactional for consume-transform-produce.
Consumers never auto-commit and read only committed data. aiokafka is untyped, so its `Any`
stays in this module and the few typed helpers below.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from services.runtime.errors import BrokerUnavailable
from services.runtime.logging import get_logger
from services.runtime.partitioner import cached_partitioner
from services.runtime.settings import CommonSettings


def security(settings: CommonSettings) -> dict[str, Any]:
    """Client options for SCRAM-SHA-512 when a Kafka user is set (Strimzi ``KafkaUser``)."""
    if not settings.kafka_sasl_username:
        return {}
    return {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": settings.kafka_sasl_username,
        "sasl_plain_password": settings.kafka_sasl_password,
    }


log = get_logger(__name__)


def producer(
    settings: CommonSettings,
    *,
    client_id: str,
    transactional_id: str | None = None,
    linger_ms: int = 5,
) -> Any:
    """An idempotent acks=all producer (transactional when given a transactional id)."""
    timeout_ms = int(settings.kafka_timeout_s * 1000)
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        transactional_id=transactional_id,
        linger_ms=linger_ms,
        request_timeout_ms=timeout_ms,
        # Whole-send deadline: a record not acknowledged by then fails instead of waiting.
        max_batch_size=256 * 1024,
        metadata_max_age_ms=30_000,
        partitioner=cached_partitioner,
        **security(settings),
    )


def consumer(
    settings: CommonSettings,
    *topics: str,
    group_id: str | None,
    client_id: str,
    auto_offset_reset: str = "earliest",
    **overrides: Any,
) -> Any:
    """A read_committed consumer that commits only when the caller has handled the records."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "group_id": group_id,
        "client_id": client_id,
        "enable_auto_commit": False,
        "isolation_level": "read_committed",
        "auto_offset_reset": auto_offset_reset,
        "request_timeout_ms": max(int(settings.kafka_timeout_s * 1000), 40_000),
        **security(settings),
    }
    return AIOKafkaConsumer(*topics, **(options | overrides))


def admin(settings: CommonSettings, *, client_id: str) -> Any:
    return AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=client_id,
        request_timeout_ms=int(settings.kafka_timeout_s * 1000),
        **security(settings),
    )


async def start_with_retry(
    client: Any, *, what: str, stop: asyncio.Event, timeout_s: float
) -> None:
    """Start a client while the broker may still be coming up; give up after `timeout_s`.

    A broker that is not up yet is normal at start (retry); bad configuration is not (the
    caller's settings validation has already failed fast on that). When the start fails or
    is cancelled, the client is stopped here: the caller never held a started client, and
    aiokafka leaves the sockets of a half-done start open (aiokafka #715, #1130).
    """
    try:
        await _start_until(client, what=what, stop=stop, timeout_s=timeout_s)
    except BaseException:
        closing = asyncio.ensure_future(stop_client(client, _ABANDON_S))
        await asyncio.wait({closing}, timeout=_ABANDON_S * 2)
        raise


_ABANDON_S = 2.0


async def _start_until(client: Any, *, what: str, stop: asyncio.Event, timeout_s: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    delay = 0.2
    while True:
        try:
            await start_bounded(client, max(0.1, deadline - loop.time()))
        except (KafkaError, TimeoutError, OSError) as exc:
            # The retry starts from clean sockets; nothing is left for the collector.
            await _close_connections(client, 1.0)
            if stop.is_set() or loop.time() + delay > deadline:
                raise BrokerUnavailable(
                    f"{what}: Kafka not reachable within {timeout_s:.0f}s"
                ) from exc
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
        else:
            return


async def start_bounded(client: Any, timeout_s: float) -> None:
    """``client.start()`` within ``timeout_s``, never cancelled half-way by our own caller.

    aiokafka's bootstrap holds its first connection in a local variable: a start cancelled
    while it talks to the broker leaves that socket open for the garbage collector (aiokafka
    #715). A caller cancelled meanwhile (a gateway shutting down right after start-up) waits
    for the start to end (a few seconds at most) and then re-raises.
    """
    starting = asyncio.ensure_future(client.start())
    try:
        done, _ = await asyncio.wait({starting}, timeout=timeout_s)
    except asyncio.CancelledError:
        # Against a responsive broker the start ends in milliseconds; a stop never waits long.
        await asyncio.wait({starting}, timeout=min(timeout_s, _ABANDON_S))
        if not starting.done():
            starting.cancel()
        elif not starting.cancelled():
            starting.exception()  # retrieved: the caller's cancellation is what matters
        raise
    if not done:
        starting.cancel()
        raise TimeoutError(f"Kafka client start took longer than {timeout_s:.0f}s")
    starting.result()


async def partitions_of(consumer: Any, topic: str, *, timeout_s: float) -> list[int]:
    """The partition numbers of `topic`, refreshing metadata first (a fresh client has none).

    Raises BrokerUnavailable when the topic is unknown to the cluster within the deadline.
    """
    try:
        # consumer.topics() fetches metadata but keeps it from partitions_for_topic(); the
        # client's own cluster view is the one aiokafka answers from.
        cluster = await asyncio.wait_for(consumer._client.fetch_all_metadata(), timeout_s)  # noqa: SLF001
    except (KafkaError, TimeoutError) as exc:
        raise BrokerUnavailable(f"metadata for {topic} not available: {exc!r}") from exc
    found = cluster.partitions_for_topic(topic)
    if not found:
        raise BrokerUnavailable(f"topic {topic} does not exist")
    return sorted(found)


async def stop_client(client: Any, timeout_s: float) -> None:
    """Stop a Kafka client within ``timeout_s`` whatever it does with cancellation.

    ``asyncio.wait_for`` waits for the cancelled call to finish, and aiokafka's consumer
    ``stop()`` can raise ``CancelledError`` from its own cancelled fetch task (its fetcher's
    close awaits it). Neither may end a service that is only tearing a session down to
    rebuild it (seen: the router exited when the whole cluster went away). So the stop runs
    as its own task; a failure or a timeout is logged and the caller moves on.
    """
    stopping = asyncio.ensure_future(client.stop())
    done, _ = await asyncio.wait({stopping}, timeout=timeout_s)
    if not done:
        stopping.cancel()
        log.warning("kafka_client_stop_timeout", timeout_s=timeout_s)
    elif not stopping.cancelled() and stopping.exception() is not None:
        log.info("kafka_client_stop_failed", error=repr(stopping.exception()))
    elif stopping.cancelled():
        log.info("kafka_client_stop_failed", error="cancelled inside the client")
    else:
        return
    await _close_connections(client, timeout_s)


async def _close_connections(client: Any, timeout_s: float) -> None:
    """Close the sockets a stop that failed half-way left open.

    aiokafka closes its network client last, after the fetcher and coordinator; when one of
    those raised, the connections stay open until garbage collection finds them.
    """
    network = getattr(client, "_client", None) or getattr(client, "client", None)
    if network is None:
        return
    closing = asyncio.ensure_future(network.close())
    done, _ = await asyncio.wait({closing}, timeout=timeout_s)
    if not done:
        closing.cancel()
    elif not closing.cancelled() and closing.exception() is not None:
        log.info("kafka_connections_close_failed", error=repr(closing.exception()))
