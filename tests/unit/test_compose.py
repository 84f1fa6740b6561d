"""docker-compose.yml: the official Kafka image in KRaft mode, topic init, every service."""

from pathlib import Path

import yaml

from services.cli.up import available_services

ROOT = Path(__file__).resolve().parents[2]


def test_compose_runs_kraft_kafka_topic_init_and_every_service():
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
