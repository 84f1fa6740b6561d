"""docker-compose.yml: the official Kafka image in KRaft mode, topic init, every service."""

from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # no stubs in the environment

from deploy.kubernetes.generate import METRICS_PORT
from services.cli.up import available_services

ROOT = Path(__file__).resolve().parents[2]


def test_compose_runs_kraft_kafka_topic_init_and_every_service() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:4.")
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert kafka["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert "healthcheck" in kafka
    assert services["topics"]["entrypoint"] == ["cell", "topics", "provision"]
    for name in available_services():
        assert name in services, f"service {name} missing from docker-compose.yml"
        assert services[name]["depends_on"]["topics"]["condition"] == (
            "service_completed_successfully"
        )


def test_compose_workers_serve_metrics_as_in_kubernetes_on_distinct_host_ports() -> None:
    services: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    workers = [name for name in available_services() if name != "gateway"]
    assert "router" in workers
    published: dict[str, str] = {}
    for name in workers:
        service = services[name]
        # The port the process binds is the one Kubernetes scrapes and probes.
        assert service["environment"]["CELL_METRICS_PORT"] == str(METRICS_PORT), name
        assert str(METRICS_PORT) in service["expose"], name
        (mapping,) = service["ports"]
        host, container = mapping.split(":")
        assert container == str(METRICS_PORT), name
        published[name] = host
        assert f":{METRICS_PORT}/metrics" in " ".join(service["healthcheck"]["test"]), name
        assert service["environment"]["CELL_KAFKA_BOOTSTRAP"] == "kafka:19092", name
    assert len(set(published.values())) == len(workers), published
    gateway = services["gateway"]
    assert "CELL_METRICS_PORT" not in gateway["environment"]  # /metrics on its API port
    assert gateway["ports"] == ["8080:8080"]
    assert {p.split(":")[0] for p in gateway["ports"]}.isdisjoint(published.values())
