"""The topic registry: the single source of truth for every topic of the cell.

Provisioning (``services.runtime.provision``), the services and the AsyncAPI export all
read it. Partition counts are sized for a small (2-core) deployment; raise them here, never
in a service. A topic's partition count can grow but never shrink, and growing it moves
keys, so size submit and state topics with headroom.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

from msgspec import Meta, Struct

from schemas.body import BODY_TYPES, tag_of
from schemas.common import whole
from schemas.precedence import LANES_HIGH_FIRST, Precedence

if TYPE_CHECKING:
    from schemas.desks import Desk, DeskRegistry
    from schemas.envelope import Envelope

DAY_MS = 24 * 60 * 60 * 1000
SUBMIT_PARTITIONS = 3  # router instances that can share a lane; keep = router state topic
DOMAIN_PARTITIONS = 3
STATE_PARTITIONS = 3
AUDIT_PARTITIONS = 3
# One partition per desk lane: a desk reads its lane in total order, and a cursor is one
# offset per lane.
INBOX_PARTITIONS = 1

FAMILIES = ("monitoring", "commission", "support", "tasking")
STATE_ENTITIES = ("incidents", "cases", "requests", "orders")
AUDIT = "cell.audit"
DEADLETTER = "cell.deadletter"
ROUTER_STATE = "cell.state.router"
INBOX_PREFIX = "cell.inbox."


class KeyRule(StrEnum):
    ORIGINATOR = "ORIGINATOR"  # a desk's messages stay ordered; dedup state co-located
    MESSAGE_ID = "MESSAGE_ID"
    ENTITY = "ENTITY"  # case / request / order id; falls back to correlation id, then id
    OPAQUE = "OPAQUE"  # the producer's own key (state snapshots, router state, dead letters)

    def key_for(self, envelope: Envelope) -> bytes | None:
        match self:
            case KeyRule.ORIGINATOR:
                return envelope.originator.encode()
            case KeyRule.MESSAGE_ID:
                return str(envelope.message_id).encode()
            case KeyRule.ENTITY:
                entity = envelope.body.entity_key() or envelope.correlation_id
                return (entity or str(envelope.message_id)).encode()
            case KeyRule.OPAQUE:
                return None


class CleanupPolicy(StrEnum):
    DELETE = "delete"
    COMPACT = "compact"


TopicName = Annotated[str, Meta(pattern=whole(r"[A-Za-z0-9._{}-]{1,249}"))]


class TopicSpec(Struct, frozen=True, kw_only=True):
    name: TopicName  # ``{nation}``-style placeholders only in export templates
    key: KeyRule
    partitions: Annotated[int, Meta(ge=1, le=1000)]
    replication_factor: Annotated[int, Meta(ge=1, le=7)] | None = None  # None: broker default
    cleanup_policy: CleanupPolicy = CleanupPolicy.DELETE
    retention_ms: int | None = None  # -1: forever; None: broker default
    min_insync_replicas: Annotated[int, Meta(ge=1, le=7)] | None = None
    kinds: tuple[str, ...] = ()  # body tags carried; () means router-internal records
    producers: tuple[str, ...] = ()
    consumers: tuple[str, ...] = ()
    description: str = ""
    lane: Precedence | None = None

    def configs(self) -> dict[str, str]:
        """Topic-level configs provisioning sets and checks for drift."""
        configs = {"cleanup.policy": self.cleanup_policy.value}
        if self.retention_ms is not None:
            configs["retention.ms"] = str(self.retention_ms)
        if self.min_insync_replicas is not None:
            configs["min.insync.replicas"] = str(self.min_insync_replicas)
        return configs


def submit_topic(precedence: Precedence, *, prefix: str = "") -> str:
    return f"{prefix}cell.submit.{precedence.lane}"


def inbox_topic(desk: Desk, precedence: Precedence, *, prefix: str = "") -> str:
    """``cell.inbox.<nation>.<desk>.<lane>``: the nation prefix is what national ACLs grant."""
    return f"{prefix}{INBOX_PREFIX}{desk.nation.lower()}.{desk.id}.{precedence.lane}"


def inbox_nation_prefix(nation: str, *, prefix: str = "") -> str:
    """The prefixed-ACL resource a nation's downstream systems are granted."""
    return f"{prefix}{INBOX_PREFIX}{nation.lower()}."


def domain_topic(family: str, *, prefix: str = "") -> str:
    if family not in FAMILIES:
        raise ValueError(f"unknown domain family {family!r}")
    return f"{prefix}cell.domain.{family}"


def state_topic(entity: str, *, prefix: str = "") -> str:
    if entity not in {*STATE_ENTITIES, "router"}:
        raise ValueError(f"unknown state entity {entity!r}")
    return f"{prefix}cell.state.{entity}"


ALL_KINDS: tuple[str, ...] = tuple(tag_of(kind) for kind in BODY_TYPES)


def family_kinds(family: str) -> tuple[str, ...]:
    return tuple(tag_of(kind) for kind in BODY_TYPES if kind.family == family)


# family -> (owning service, its state topic entity, the snapshot kinds it compacts there).
# State records are keyed by the owner: the entity id, or "<order id>:<task id>" for tasks.
_FAMILY_OWNER = {
    "monitoring": ("monitoring", "incidents", ("monitoring.incident.v1",)),
    "commission": ("commission", "cases", ("commission.case.v1",)),
    "support": ("support", "requests", ("support.status.v1",)),
    "tasking": ("tasking", "orders", ("tasking.order.v1", "tasking.status.v1")),
}


def _min_isr(replication_factor: int | None) -> int | None:
    # min ISR 2 only makes sense with 3+ replicas; below that the broker default stands.
    if replication_factor is not None and replication_factor >= 3:  # noqa: PLR2004
        return 2
    return None


def fixed_specs(*, replication_factor: int | None = None, prefix: str = "") -> list[TopicSpec]:
    """Every topic that does not depend on the desk registry."""
    rf, min_isr = replication_factor, _min_isr(replication_factor)
    specs = [
        TopicSpec(
            name=submit_topic(lane, prefix=prefix),
            key=KeyRule.ORIGINATOR,
            partitions=SUBMIT_PARTITIONS,
            retention_ms=7 * DAY_MS,
            kinds=ALL_KINDS,
            producers=("gateway", "services"),
            consumers=("router",),
            description=f"Released {lane.value} traffic waiting for the router.",
            lane=lane,
            replication_factor=rf,
            min_insync_replicas=min_isr,
        )
        for lane in LANES_HIGH_FIRST
    ]
    for family, (service, entity, snapshots) in _FAMILY_OWNER.items():
        specs.append(
            TopicSpec(
                name=domain_topic(family, prefix=prefix),
                key=KeyRule.ENTITY,
                partitions=DOMAIN_PARTITIONS,
                retention_ms=90 * DAY_MS,
                kinds=family_kinds(family),
                producers=("router",),
                consumers=(service,),
                description=f"Delivered {family} traffic, keyed by entity, for the {service} "
                "service.",
                replication_factor=rf,
                min_insync_replicas=min_isr,
            )
        )
        specs.append(
            TopicSpec(
                name=state_topic(entity, prefix=prefix),
                key=KeyRule.OPAQUE,
                partitions=STATE_PARTITIONS,
                cleanup_policy=CleanupPolicy.COMPACT,
                kinds=snapshots,
                producers=(service,),
                consumers=(service, "gateway"),
                description=f"Latest state of each of the {entity}, compacted; replayed on start.",
                replication_factor=rf,
                min_insync_replicas=min_isr,
            )
        )
    specs += [
        TopicSpec(
            name=state_topic("router", prefix=prefix),
            key=KeyRule.OPAQUE,
            # Co-partitioned with the submit lanes: dedup state for (originator, id) sits
            # in the partition the submission landed in.
            partitions=SUBMIT_PARTITIONS,
            cleanup_policy=CleanupPolicy.COMPACT,
            producers=("router",),
            consumers=("router",),
            description="Router state (dedup window, open acknowledgements, MINIMIZE), "
            "written in the routing transaction.",
            replication_factor=rf,
            min_insync_replicas=min_isr,
        ),
        TopicSpec(
            name=f"{prefix}{AUDIT}",
            key=KeyRule.MESSAGE_ID,
            partitions=AUDIT_PARTITIONS,
            retention_ms=-1,  # the audit trail is never deleted by the broker
            producers=("router", "gateway"),
            # The gateway's status and receipt views read the trail (services/gateway/inbox).
            consumers=("audit", "gateway"),
            description="Every routing and guard decision with its reason.",
            replication_factor=rf,
            min_insync_replicas=min_isr,
        ),
        TopicSpec(
            name=f"{prefix}{DEADLETTER}",
            key=KeyRule.OPAQUE,
            partitions=1,
            retention_ms=30 * DAY_MS,
            producers=("router", "services"),
            consumers=("operators",),
            description="Poison records, unchanged, with the reason in headers.",
            replication_factor=rf,
            min_insync_replicas=min_isr,
        ),
    ]
    return specs


def inbox_specs(
    registry: DeskRegistry, *, replication_factor: int | None = None, prefix: str = ""
) -> list[TopicSpec]:
    """Four lanes per desk, in registry order, highest lane first."""
    rf, min_isr = replication_factor, _min_isr(replication_factor)
    return [
        TopicSpec(
            name=inbox_topic(desk, lane, prefix=prefix),
            key=KeyRule.MESSAGE_ID,
            partitions=INBOX_PARTITIONS,
            retention_ms=30 * DAY_MS,
            kinds=ALL_KINDS,
            producers=("router",),
            consumers=("gateway", f"national-systems:{desk.nation}"),
            description=f"{lane.value} inbox of desk {desk.id} ({desk.nation}).",
            lane=lane,
            replication_factor=rf,
            min_insync_replicas=min_isr,
        )
        for desk in registry.desks
        for lane in LANES_HIGH_FIRST
    ]


def registry(
    desks: DeskRegistry, *, replication_factor: int | None = None, prefix: str = ""
) -> list[TopicSpec]:
    """Every topic of the cell for this desk registry.

    ``prefix`` isolates a test's topics; ``replication_factor`` None leaves it to the broker.
    """
    specs = fixed_specs(replication_factor=replication_factor, prefix=prefix)
    specs += inbox_specs(desks, replication_factor=replication_factor, prefix=prefix)
    _check_collisions(specs)
    return specs


def _check_collisions(specs: list[TopicSpec]) -> None:
    # Kafka refuses topics whose names differ only in '.' versus '_' (metric-name clash).
    seen: dict[str, str] = {}
    for spec in specs:
        folded = spec.name.replace(".", "_")
        if folded in seen:
            raise ValueError(f"topic {spec.name!r} collides with {seen[folded]!r} in Kafka")
        seen[folded] = spec.name
