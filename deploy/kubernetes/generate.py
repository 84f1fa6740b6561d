"""Kubernetes manifests for a multi-broker Kafka run by Strimzi, generated from the registries.

The topic registry (``schemas.topics``) and the desk registry are the only inputs. Each topic
becomes a ``KafkaTopic``; each party named in the topics' ``producers`` / ``consumers`` gets a
``KafkaUser`` whose ACLs are exactly those topics (plus its consumer group and transactional
ids); each nation's downstream systems may only read their ``cell.inbox.<nation>.`` prefix.
The services and the gateway run as Deployments with probes and resources, the gateway
behind a Service. ``python -m deploy.kubernetes`` writes the files; a test fails on drift.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from schemas import topics
from schemas.desks import DeskRegistry
from schemas.topics import TopicSpec

Manifest = dict[str, Any]

NAMESPACE = "paris-cell"
CLUSTER = "cell-kafka"
BROKERS = 3
REPLICATION_FACTOR = 3
IMAGE = "paris-cell:latest"
BOOTSTRAP = f"{CLUSTER}-kafka-bootstrap:9092"
METRICS_PORT = 9100
GATEWAY_PORT = 8080
DOMAIN_SERVICES = ("monitoring", "commission", "support", "tasking")
WORKERS = ("router", *DOMAIN_SERVICES)
NATIONAL = "national-systems:"  # consumer name of a nation's downstream systems
_STRIMZI = "kafka.strimzi.io/v1beta2"


def user_name(party: str) -> str:
    """``cell-router``, ``cell-national-usa``: a DNS label Strimzi also uses as the secret."""
    if party.startswith(NATIONAL):
        return f"cell-national-{party.removeprefix(NATIONAL).lower()}"
    return f"cell-{party}"


def _k8s_name(topic: str) -> str:
    return re.sub(r"[^a-z0-9.-]", "-", topic.lower())


def _labels(component: str) -> dict[str, str]:
    return {"app.kubernetes.io/part-of": "paris-cell", "app.kubernetes.io/name": component}


def kafka_cluster() -> list[Manifest]:
    """KRaft brokers in one node pool, RF 3 / min ISR 2, SCRAM and simple authorization."""
    pool = {
        "apiVersion": _STRIMZI,
        "kind": "KafkaNodePool",
        "metadata": {
            "name": "dual-role",
            "namespace": NAMESPACE,
            "labels": {"strimzi.io/cluster": CLUSTER},
        },
        "spec": {
            "replicas": BROKERS,
            "roles": ["controller", "broker"],
            "storage": {"type": "persistent-claim", "size": "20Gi", "deleteClaim": False},
            "resources": {
                "requests": {"cpu": "500m", "memory": "2Gi"},
                "limits": {"memory": "2Gi"},
            },
        },
    }
    kafka = {
        "apiVersion": _STRIMZI,
        "kind": "Kafka",
        "metadata": {
            "name": CLUSTER,
            "namespace": NAMESPACE,
            "annotations": {"strimzi.io/node-pools": "enabled", "strimzi.io/kraft": "enabled"},
        },
        "spec": {
            "kafka": {
                "version": "4.1.1",
                "listeners": [
                    {
                        "name": "scram",
                        "port": 9092,
                        "type": "internal",
                        "tls": False,
                        "authentication": {"type": "scram-sha-512"},
                    }
                ],
                "authorization": {"type": "simple"},
                "config": {
                    "auto.create.topics.enable": False,
                    "default.replication.factor": REPLICATION_FACTOR,
                    "min.insync.replicas": 2,
                    "unclean.leader.election.enable": False,
                    "offsets.topic.replication.factor": REPLICATION_FACTOR,
                    "transaction.state.log.replication.factor": REPLICATION_FACTOR,
                    "transaction.state.log.min.isr": 2,
                },
            },
            "entityOperator": {"topicOperator": {}, "userOperator": {}},
        },
    }
    return [pool, kafka]


def kafka_topics(specs: list[TopicSpec]) -> list[Manifest]:
    return [
        {
            "apiVersion": _STRIMZI,
            "kind": "KafkaTopic",
            "metadata": {
                "name": _k8s_name(spec.name),
                "namespace": NAMESPACE,
                "labels": {"strimzi.io/cluster": CLUSTER},
            },
            "spec": {
                "topicName": spec.name,
                "partitions": spec.partitions,
                "replicas": spec.replication_factor or REPLICATION_FACTOR,
                "config": spec.configs(),
            },
        }
        for spec in specs
    ]


def parties(specs: list[TopicSpec]) -> dict[str, tuple[set[str], set[str]]]:
    """Party -> (topics it reads, topics it writes), from the registry; ``services`` expanded."""
    access: dict[str, tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))

    def expand(name: str) -> tuple[str, ...]:
        return DOMAIN_SERVICES if name == "services" else (name,)

    for spec in specs:
        for consumer in spec.consumers:
            for party in expand(consumer):
                access[party][0].add(spec.name)
        for producer in spec.producers:
            for party in expand(producer):
                access[party][1].add(spec.name)
    return dict(access)


def _acl(kind: str, name: str, operations: list[str], pattern: str = "literal") -> Manifest:
    return {
        "resource": {"type": kind, "name": name, "patternType": pattern},
        "operations": operations,
    }


def _user(party: str, acls: list[Manifest]) -> Manifest:
    return {
        "apiVersion": _STRIMZI,
        "kind": "KafkaUser",
        "metadata": {
            "name": user_name(party),
            "namespace": NAMESPACE,
            "labels": {"strimzi.io/cluster": CLUSTER},
        },
        "spec": {
            "authentication": {"type": "scram-sha-512"},
            "authorization": {"type": "simple", "acls": acls},
        },
    }


def kafka_users(specs: list[TopicSpec], registry: DeskRegistry) -> list[Manifest]:
    users = []
    nations = {n.lower() for n in registry.nations()}
    for party, (reads, writes) in sorted(parties(specs).items()):
        if party.startswith(NATIONAL):
            nation = party.removeprefix(NATIONAL).lower()
            nations.add(nation)
            continue
        acls = [_acl("topic", t, ["Read", "Describe"]) for t in sorted(reads)]
        acls += [_acl("topic", t, ["Write", "Describe"]) for t in sorted(writes)]
        if party in WORKERS:
            acls.append(_acl("group", f"cell-{party}", ["Read", "Describe"]))
        if party == "router":  # one transactional id per partition number: cell-router.p<n>
            acls.append(_acl("transactionalId", "cell-router.p", ["Write", "Describe"], "prefix"))
        elif party in DOMAIN_SERVICES:
            acls.append(_acl("transactionalId", f"cell-{party}", ["Write", "Describe"]))
        users.append(_user(party, acls))
    for nation in sorted(nations):
        prefix = topics.inbox_nation_prefix(nation)
        group = f"national-{nation}."
        acls = [
            _acl("topic", prefix, ["Read", "Describe"], "prefix"),
            _acl("group", group, ["Read", "Describe"], "prefix"),
        ]
        users.append(_user(f"{NATIONAL}{nation}", acls))
    return users
