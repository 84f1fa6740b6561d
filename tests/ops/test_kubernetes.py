"""The Kubernetes manifests: committed = generated, they parse, and they match the registries."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import yaml  # type: ignore[import-untyped]  # no stubs in the environment

from deploy.kubernetes import __main__ as k8s
from deploy.kubernetes import generate
from schemas import topics
from schemas.desks import load_registry
from schemas.precedence import LANES_HIGH_FIRST

REGISTRY = load_registry(k8s.DESKS)
SPECS = topics.registry(REGISTRY, replication_factor=generate.REPLICATION_FACTOR)


def _docs(name: str) -> list[dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all((k8s.MANIFESTS / name).read_text()) if d]
    for doc in docs:
        assert {"apiVersion", "kind", "metadata"} <= set(doc), doc
        assert doc["metadata"]["namespace"] == generate.NAMESPACE
    return docs


def _acls(user: dict[str, Any]) -> list[tuple[str, str, str, frozenset[str]]]:
    return [
        (
            acl["resource"]["type"],
            acl["resource"]["name"],
            acl["resource"]["patternType"],
            frozenset(acl["operations"]),
        )
        for acl in user["spec"]["authorization"]["acls"]
    ]


def test_committed_manifests_are_what_the_registries_generate() -> None:
    assert k8s.drift() == [], "run `python -m deploy.kubernetes` and commit the manifests"
    assert k8s.main(["--check"]) == 0


def test_kafka_topics_match_the_registry() -> None:
    by_name = {d["spec"]["topicName"]: d for d in _docs("topics.yaml")}
    assert set(by_name) == {spec.name for spec in SPECS}
    for spec in SPECS:
        doc = by_name[spec.name]
        assert doc["kind"] == "KafkaTopic"
        assert doc["metadata"]["labels"]["strimzi.io/cluster"] == generate.CLUSTER
        assert doc["spec"]["partitions"] == spec.partitions
        assert doc["spec"]["replicas"] == generate.REPLICATION_FACTOR
        assert doc["spec"]["config"] == spec.configs()
        assert doc["spec"]["config"].get("min.insync.replicas") == "2"


def test_service_users_may_touch_exactly_their_registry_topics() -> None:
    users = {d["metadata"]["name"]: d for d in _docs("users.yaml")}
    reads: dict[str, set[str]] = defaultdict(set)
    writes: dict[str, set[str]] = defaultdict(set)
    for spec in SPECS:
        for name in spec.consumers:
            for party in generate.DOMAIN_SERVICES if name == "services" else (name,):
                reads[party].add(spec.name)
        for name in spec.producers:
            for party in generate.DOMAIN_SERVICES if name == "services" else (name,):
                writes[party].add(spec.name)
    services = [p for p in {*reads, *writes} if not p.startswith(generate.NATIONAL)]
    assert "router" in services
    assert "gateway" in services
    # The gateway's status and receipt views read the audit trail: the registry says so.
    assert topics.AUDIT in reads["gateway"]
    for party in services:
        acls = _acls(users[generate.user_name(party)])
        topic_acls = [a for a in acls if a[0] == "topic"]
        assert all(a[2] == "literal" for a in topic_acls), party  # no wildcard for services
        granted_reads = {a[1] for a in topic_acls if "Read" in a[3]}
        granted_writes = {a[1] for a in topic_acls if "Write" in a[3]}
        assert granted_reads == reads[party], party
        assert granted_writes == writes[party], party
    router = _acls(users["cell-router"])
    assert (
        "transactionalId",
        "cell-router.p",
        "prefix",
        frozenset({"Write", "Describe"}),
    ) in router
    assert ("group", "cell-router", "literal", frozenset({"Read", "Describe"})) in router
    for service in generate.DOMAIN_SERVICES:
        acls = _acls(users[f"cell-{service}"])
        assert (
            "transactionalId",
            f"cell-{service}",
            "literal",
            frozenset({"Write", "Describe"}),
        ) in acls


def test_each_nation_reads_only_its_own_inboxes() -> None:
    users = {d["metadata"]["name"]: d for d in _docs("users.yaml")}
    inboxes = [spec.name for spec in SPECS if spec.name.startswith(topics.INBOX_PREFIX)]
    for nation in REGISTRY.nations():
        acls = _acls(users[f"cell-national-{nation.lower()}"])
        topic_acls = [a for a in acls if a[0] == "topic"]
        assert topic_acls == [
            ("topic", f"cell.inbox.{nation.lower()}.", "prefix", frozenset({"Read", "Describe"}))
        ]
        prefix = topic_acls[0][1]
        own = {
            topics.inbox_topic(desk, lane)
            for desk in REGISTRY.by_nation(nation)
            for lane in LANES_HIGH_FIRST
        }
        assert {name for name in inboxes if name.startswith(prefix)} == own
        assert all("Write" not in a[3] for a in acls)


def test_deployments_have_probes_resources_and_the_gateway_a_service() -> None:
    docs = _docs("workloads.yaml")
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    assert set(deployments) == {*generate.WORKERS, "gateway"}
    for name, doc in deployments.items():
        pod = doc["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["args"] == [f"services.{name}"]
        assert container["livenessProbe"]
        assert container["readinessProbe"]
        assert container["resources"]["requests"]
        assert container["resources"]["limits"]["memory"]
        assert container["securityContext"]["runAsNonRoot"] is True
        env = {e["name"]: e for e in container["env"]}
        assert env["CELL_KAFKA_SASL_USERNAME"]["value"] == f"cell-{name}"
        secret = env["CELL_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert secret["name"] == f"cell-{name}"  # the secret Strimzi writes for the KafkaUser
        assert (
            doc["spec"]["selector"]["matchLabels"] == doc["spec"]["template"]["metadata"]["labels"]
        )
    (service,) = [d for d in docs if d["kind"] == "Service"]
    gateway = deployments["gateway"]["spec"]["template"]
    assert service["spec"]["selector"] == gateway["metadata"]["labels"]
    assert gateway["spec"]["containers"][0]["readinessProbe"]["httpGet"]["path"] == "/readyz"
    (config,) = [d for d in docs if d["kind"] == "ConfigMap"]
    # The pods mount the desk registry the topics and users were generated from.
    assert config["data"]["desks.json"] == k8s.DESKS.read_text()
