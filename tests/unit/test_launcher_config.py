"""The broker configuration the launcher writes: what production discipline requires."""

from pathlib import Path

from deploy.kafka.config import NodeConfig, server_properties
from deploy.kafka.launcher import new_cluster_id


def _props(size: int) -> dict[str, str]:
    cfg = NodeConfig(
        node_id=2, port=9092, controller_port=9093, directory=Path("/x"), cluster_size=size
    )
    text = server_properties(cfg, "1@127.0.0.1:1,2@127.0.0.1:2,3@127.0.0.1:3")
    return dict(line.split("=", 1) for line in text.splitlines())


def test_single_node_is_loopback_kraft_without_auto_create():
    props = _props(1)
    assert props["process.roles"] == "broker,controller"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:9092"
    assert props["auto.create.topics.enable"] == "false"
    assert props["unclean.leader.election.enable"] == "false"
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["log.dirs"] == "/x/data"


def test_three_nodes_replicate_three_ways_with_min_isr_two():
    props = _props(3)
    assert props["default.replication.factor"] == "3"
    assert props["min.insync.replicas"] == "2"
    assert props["transaction.state.log.replication.factor"] == "3"
    assert props["transaction.state.log.min.isr"] == "2"
    assert props["unclean.leader.election.enable"] == "false"
    assert props["node.id"] == "2"


def test_cluster_ids_are_kafka_uuids():
    ids = {new_cluster_id() for _ in range(200)}
    assert len(ids) == 200
    for cid in ids:
        assert len(cid) == 22
        assert not cid.startswith("-")
