"""Create the registry's topics, or check existing ones, and report drift.

Idempotent: a topic that exists is never altered, only compared with its spec (partition
count, replication factor, cleanup.policy, retention.ms, min.insync.replicas); any
difference is reported for an operator to resolve, because silently changing retention or
compaction on live data is not a provisioning tool's call. Every broker request runs under
one overall deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable, Sequence
from typing import Any, Protocol, TypeVar

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError
from msgspec import Struct

from schemas.topics import TopicSpec
from services.runtime.errors import BrokerUnavailable, ConfigurationError

T = TypeVar("T")

_NO_ERROR = 0
_UNKNOWN_TOPIC = 3
_TOPIC_ALREADY_EXISTS = 36
_VISIBILITY_POLL_S = 0.1


class _Response(Protocol):
    """aiokafka protocol responses (untyped) as far as this module reads them."""

    def to_object(self) -> dict[str, Any]: ...


class Drift(Struct, frozen=True, kw_only=True):
    """One setting of an existing topic that differs from its spec."""

    topic: str
    setting: str  # "partitions", "replication.factor" or a topic config name
    expected: str
    actual: str


class ProvisionReport(Struct, frozen=True, kw_only=True):
    created: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    drifted: tuple[str, ...] = ()
    drift: tuple[Drift, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.drift


class ProvisionError(ConfigurationError):
    """The broker refused to create a topic for a reason retrying cannot fix."""

    code = "provision_failed"


class _Deadline:
    def __init__(self, timeout_s: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._end = self._loop.time() + timeout_s
        self._timeout_s = timeout_s

    def remaining(self) -> float:
        return max(0.0, self._end - self._loop.time())

    async def run(self, awaitable: Awaitable[T], what: str) -> T:
        try:
            return await asyncio.wait_for(awaitable, timeout=self.remaining())
        except TimeoutError as exc:
            raise BrokerUnavailable(
                f"provisioning: {what} not done within {self._timeout_s:.0f}s"
            ) from exc
        except KafkaError as exc:
            raise BrokerUnavailable(f"provisioning: {what} failed: {exc!r}") from exc


async def provision(
    bootstrap: str, specs: Sequence[TopicSpec], *, timeout_s: float = 30.0
) -> ProvisionReport:
    """Create the missing topics of ``specs`` and compare the existing ones with their spec.

    Raises ``BrokerUnavailable`` (retriable) when the broker does not answer in time and
    ``ProvisionError`` when it refuses a topic outright.
    """
    deadline = _Deadline(timeout_s)
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap,
        client_id="cell-provision",
        request_timeout_ms=max(1000, int(timeout_s * 1000)),
    )
    await deadline.run(admin.start(), "connecting")
    try:
        return await _provision(admin, list(specs), deadline)
    finally:
        await asyncio.wait_for(admin.close(), timeout=max(1.0, deadline.remaining()))


async def _provision(
    admin: AIOKafkaAdminClient, specs: list[TopicSpec], deadline: _Deadline
) -> ProvisionReport:
    by_name = {spec.name: spec for spec in specs}
    if len(by_name) != len(specs):
        raise ConfigurationError("provisioning: the topic specs repeat a name")
    existing = await _describe_topics(admin, list(by_name), deadline)
    missing = [spec for spec in specs if spec.name not in existing]
    created: list[str] = []
    if missing:
        default_rf = await _default_replication_factor(admin, deadline)
        raced = await _create(admin, missing, default_rf, deadline)
        created = [spec.name for spec in missing if spec.name not in raced]
        # Metadata lags creation, here or by a concurrent provisioner (the "raced" topics,
        # then checked like any existing one).
        await _await_visible(admin, created + raced, deadline)
        if raced:
            existing |= await _describe_topics(admin, raced, deadline)
    configs = await _describe_configs(admin, sorted(existing), deadline)
    drift = [
        item
        for name in sorted(existing)
        for item in _compare(by_name[name], existing[name], configs.get(name, {}))
    ]
    drifted = {item.topic for item in drift}
    return ProvisionReport(
        created=tuple(created),
        unchanged=tuple(name for name in by_name if name in existing and name not in drifted),
        drifted=tuple(name for name in by_name if name in drifted),
        drift=tuple(drift),
    )


async def _describe_topics(
    admin: AIOKafkaAdminClient, names: list[str], deadline: _Deadline
) -> dict[str, list[dict[str, Any]]]:
    """name -> partition descriptions, for the topics of ``names`` that exist."""
    topics = await deadline.run(admin.describe_topics(names), "describing topics")
    found: dict[str, list[dict[str, Any]]] = {}
    for topic in topics:
        if topic["error_code"] == _NO_ERROR:
            found[topic["topic"]] = topic["partitions"]
        elif topic["error_code"] != _UNKNOWN_TOPIC:
            raise BrokerUnavailable(
                f"provisioning: describing {topic['topic']} failed with code {topic['error_code']}"
            )
    return found


async def _default_replication_factor(admin: AIOKafkaAdminClient, deadline: _Deadline) -> int:
    """The broker's ``default.replication.factor`` (aiokafka's CreateTopics v3 cannot say
    "broker default" by itself)."""
    cluster = await deadline.run(admin.describe_cluster(), "describing the cluster")
    node = str(
        cluster["controller_id"]
        if cluster["controller_id"] >= 0
        else cluster["brokers"][0]["node_id"]
    )
    resource = ConfigResource(ConfigResourceType.BROKER, node, {"default.replication.factor": None})
    responses = await deadline.run(admin.describe_configs([resource]), "reading broker defaults")
    for entry in _config_entries(responses).get(node, {}).items():
        if entry[0] == "default.replication.factor":
            return int(entry[1])
    return 1


async def _create(
    admin: AIOKafkaAdminClient, specs: list[TopicSpec], default_rf: int, deadline: _Deadline
) -> list[str]:
    """Create ``specs``; returns the names another provisioner created first."""
    new_topics = [
        NewTopic(
            spec.name,
            spec.partitions,
            spec.replication_factor or default_rf,
            topic_configs=spec.configs(),
        )
        for spec in specs
    ]
    timeout_ms = max(1000, int(deadline.remaining() * 1000))
    response = await deadline.run(
        admin.create_topics(new_topics, timeout_ms=timeout_ms), "creating topics"
    )
    raced: list[str] = []
    failures: list[str] = []
    for topic, code, message in _topic_errors(response):
        if code == _TOPIC_ALREADY_EXISTS:
            raced.append(topic)
        elif code != _NO_ERROR:
            failures.append(f"{topic}: error {code} {message or ''}".strip())
    if failures:
        raise ProvisionError("provisioning refused: " + "; ".join(failures))
    return raced


def _topic_errors(response: _Response) -> Iterable[tuple[str, int, str | None]]:
    for item in response.to_object()["topic_errors"]:
        yield item["topic"], item["error_code"], item.get("error_message")


async def _await_visible(admin: AIOKafkaAdminClient, names: list[str], deadline: _Deadline) -> None:
    """Wait until new topics have a leader for every partition in the metadata, so that a
    service started right after provisioning does not see UnknownTopicOrPartition."""
    pending = set(names)
    while pending:
        topics = await _describe_topics(admin, sorted(pending), deadline)
        for name, partitions in topics.items():
            if partitions and all(p["leader"] >= 0 for p in partitions):
                pending.discard(name)
        if pending:
            await deadline.run(asyncio.sleep(_VISIBILITY_POLL_S), "waiting for new topics")


async def _describe_configs(
    admin: AIOKafkaAdminClient, names: list[str], deadline: _Deadline
) -> dict[str, dict[str, str]]:
    if not names:
        return {}
    resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
    responses = await deadline.run(admin.describe_configs(resources), "reading topic configs")
    return _config_entries(responses)


def _config_entries(responses: Iterable[_Response]) -> dict[str, dict[str, str]]:
    result: dict[str, dict[str, str]] = {}
    for response in responses:
        for resource in response.to_object()["resources"]:
            if resource["error_code"] != _NO_ERROR:
                raise BrokerUnavailable(
                    f"provisioning: configs of {resource['resource_name']}: "
                    f"{resource['error_message']}"
                )
            result[resource["resource_name"]] = {
                entry["config_names"]: entry["config_value"] for entry in resource["config_entries"]
            }
    return result


def _compare(
    spec: TopicSpec, partitions: list[dict[str, Any]], configs: dict[str, str]
) -> list[Drift]:
    drift: list[Drift] = []

    def differs(setting: str, expected: object, actual: object) -> None:
        if str(expected) != str(actual):
            drift.append(
                Drift(topic=spec.name, setting=setting, expected=str(expected), actual=str(actual))
            )

    differs("partitions", spec.partitions, len(partitions))
    if spec.replication_factor is not None and partitions:
        differs("replication.factor", spec.replication_factor, len(partitions[0]["replicas"]))
    for name, value in spec.configs().items():
        differs(name, value, configs.get(name, "<unset>"))
    return drift
