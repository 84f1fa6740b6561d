"""KRaft broker configuration for a local node or a 3-node cluster on one host."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ADMIN_USER = "admin"
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"


@dataclass(frozen=True)
class NodeConfig:
    node_id: int
    port: int
    controller_port: int
    directory: Path
    cluster_size: int
    # Set: the security mode (SASL/SCRAM clients, ACLs); None: plaintext, no authorizer.
    admin_password: str | None = None


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
    if cfg.admin_password is not None:
        props |= _security_properties(cfg)
    if replicated:
        # Faster failure detection for the fault tests on one host.
        props |= {
            "replica.lag.time.max.ms": 5000,
            "broker.session.timeout.ms": 6000,
            "broker.heartbeat.interval.ms": 1000,
        }
    return "".join(f"{key}={value}\n" for key, value in props.items())


def _security_properties(cfg: NodeConfig) -> dict[str, object]:
    """SASL_PLAINTEXT with SCRAM-SHA-512 for clients and brokers, ACLs by StandardAuthorizer.

    SCRAM credentials live in the metadata log (added at format time), which a controller
    cannot read before it authenticates its peers: the controller listener uses SASL PLAIN
    with a static JAAS user instead, the same admin principal. Only ``User:admin`` is a
    super user; everyone else needs ACLs (no ACL found means denied).
    """
    password = cfg.admin_password
    scram = (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{ADMIN_USER}" password="{password}";'
    )
    plain = (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        f'username="{ADMIN_USER}" password="{password}" user_{ADMIN_USER}="{password}";'
    )
    return {
        "listeners": f"SASL_PLAINTEXT://127.0.0.1:{cfg.port},"
        f"CONTROLLER://127.0.0.1:{cfg.controller_port}",
        "advertised.listeners": f"SASL_PLAINTEXT://127.0.0.1:{cfg.port}",
        "inter.broker.listener.name": "SASL_PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:SASL_PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
        "sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
        "listener.name.sasl_plaintext.sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config": scram,
        "sasl.mechanism.controller.protocol": "PLAIN",
        "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.controller.plain.sasl.jaas.config": plain,
        "authorizer.class.name": AUTHORIZER,
        "super.users": f"User:{ADMIN_USER}",
        "allow.everyone.if.no.acl.found": "false",
    }


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
