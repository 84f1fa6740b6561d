"""KRaft broker configuration for a local node or a 3-node cluster on one host."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class NodeConfig:
    node_id: int
    port: int
    controller_port: int
    directory: Path
    cluster_size: int


def server_properties(cfg: NodeConfig, voters: str) -> str:
    """Combined broker + controller with static voters (format without --standalone)."""
    replicated = cfg.cluster_size >= 3  # noqa: PLR2004 - RF 3 needs three nodes
    rf = 3 if replicated else 1
    min_isr = 2 if replicated else 1
    props = {
        "process.roles": "broker,controller",
        "node.id": cfg.node_id,
        "controller.quorum.voters": voters,
        "controller.listener.names": "CONTROLLER",
        "listeners": f"PLAINTEXT://127.0.0.1:{cfg.port},CONTROLLER://127.0.0.1:{cfg.controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{cfg.port}",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": cfg.directory / "data",
        # Production discipline: topics come from the registry, never from a typo.
        "auto.create.topics.enable": "false",
        "default.replication.factor": rf,
        "min.insync.replicas": min_isr,
        "unclean.leader.election.enable": "false",
        "offsets.topic.replication.factor": rf,
        "offsets.topic.num.partitions": 4,
        "transaction.state.log.replication.factor": rf,
        "transaction.state.log.min.isr": min_isr,
        "transaction.state.log.num.partitions": 4,
        "share.coordinator.state.topic.replication.factor": rf,
        "share.coordinator.state.topic.min.isr": min_isr,
        "group.initial.rebalance.delay.ms": 0,
        # The 128 MiB default comes out of the heap; compacted state topics here are small.
        "log.cleaner.dedupe.buffer.size": 2097152,
        "num.partitions": 1,
        # Transactions must not stay open for the 15-minute default after a router crash.
        "transaction.max.timeout.ms": 900000,
    }
    if replicated:
        # Faster failure detection for the fault tests on one host.
        props |= {
            "replica.lag.time.max.ms": 5000,
            "broker.session.timeout.ms": 6000,
            "broker.heartbeat.interval.ms": 1000,
        }
    return "".join(f"{key}={value}\n" for key, value in props.items())


def log4j_properties() -> str:
    """Console only (the launcher redirects it to the node's kafka.log), quiet request logs."""
    return """\
status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
logger.controller.name = org.apache.kafka.controller
logger.controller.level = WARN
logger.cleaner.name = kafka.log.LogCleaner
logger.cleaner.level = WARN
"""
