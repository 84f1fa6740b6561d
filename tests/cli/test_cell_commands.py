"""The `cell` subcommands against the real broker (and a real gateway for `send`)."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import json
import uuid

import msgspec
import pytest
from aiohttp.test_utils import TestServer
from aiokafka import TopicPartition

from schemas import topics
from schemas.desks import Desk, DeskRegistry, load_registry
from services.cli import dlq, logs, send, tail
from services.cli.main import build_parser, main
from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from services.runtime import deadletter, kafka
from services.runtime.provision import provision
from services.runtime.settings import CommonSettings

pytestmark = pytest.mark.integration
TOKENS = {"usa.eucom": "tok-cli-usa", "fra.cell": "tok-cli-fra", "cell.watch": "tok-cli-watch"}


def _registry() -> DeskRegistry:
    rows = [
        {"id": "usa.eucom", "nation": "USA", "clearance": "SECRET", "roles": ["FLASH"]},
        {"id": "fra.cell", "nation": "FRA", "clearance": "SECRET"},
        {"id": "cell.watch", "nation": "FRA", "clearance": "SECRET", "roles": ["WATCH", "FLASH"]},
    ]
    return DeskRegistry(
        desks=tuple(
            msgspec.convert(
                r | {"token_sha256": [hashlib.sha256(TOKENS[r["id"]].encode()).hexdigest()]},
                Desk,
            )
            for r in rows
        )
    )


@pytest.fixture(scope="module")
def cli_env(kafka_bootstrap, tmp_path_factory):
    prefix = f"c{uuid.uuid4().hex[:8]}."
    registry = _registry()
    path = tmp_path_factory.mktemp("cli") / "desks.json"
    path.write_bytes(msgspec.json.encode(registry))
    report = asyncio.run(provision(kafka_bootstrap, topics.registry(registry, prefix=prefix)))
    assert report.ok
    return {"bootstrap": kafka_bootstrap, "prefix": prefix, "desks": str(path)}


def _args(command: list[str]) -> argparse.Namespace:
    return build_parser().parse_args(command)


def test_topics_check_finds_the_provisioned_registry_unchanged(cli_env, capsys, monkeypatch):
    monkeypatch.setenv("CELL_TOPIC_PREFIX", cli_env["prefix"])
    monkeypatch.setenv("CELL_DESKS_FILE", cli_env["desks"])
    # Already provisioned by the fixture: a second provisioning run changes nothing.
    assert main(["topics", "check", "--bootstrap", cli_env["bootstrap"]]) == 0
    out = capsys.readouterr().out
    assert "0 created" in out
    assert "0 drifted" in out


def test_desks_issue_and_rotate_store_only_hashes(tmp_path, capsys):
    path = tmp_path / "desks.json"
    path.write_bytes(msgspec.json.encode(_registry()))
    assert main(["desks", "issue", "fra.cell", "--desks", str(path)]) == 0
    issued = capsys.readouterr().out.strip().splitlines()[-1]
    stored = load_registry(path).get("fra.cell")
    assert stored is not None
    assert issued not in path.read_text()  # the clear token is printed, never stored
    assert hashlib.sha256(issued.encode()).hexdigest() in stored.token_sha256
    assert len(stored.token_sha256) == 2  # issue keeps the old token for a handover

    assert main(["desks", "rotate", "fra.cell", "--desks", str(path)]) == 0
    rotated = capsys.readouterr().out.strip().splitlines()[-1]
    stored = load_registry(path).get("fra.cell")
    assert stored is not None
    assert stored.token_sha256 == (hashlib.sha256(rotated.encode()).hexdigest(),)


async def test_tail_shows_a_message_sent_through_the_gateway(cli_env):
    settings = GatewaySettings(
        kafka_bootstrap=cli_env["bootstrap"],
        topic_prefix=cli_env["prefix"],
        cursor_secret="cli-test-secret-0123456789",
        log_format="json",
    )
    server = TestServer(create_app(settings, registry=_registry()))
    await server.start_server()
    out = io.StringIO()
    try:
        tail_args = _args(
            [
                "tail",
                f"{cli_env['prefix']}cell.submit.flash",
                "--max",
                "1",
                "--idle-timeout",
                "60",
                "--originator",
                "usa.eucom",
                "--bootstrap",
                cli_env["bootstrap"],
                "--prefix",
                cli_env["prefix"],
                "--desks",
                cli_env["desks"],
            ]
        )
        follower = asyncio.create_task(tail.tail(tail_args, out))
        await asyncio.sleep(2)  # let tail seek to the end first: it shows only new messages
        send_args = _args(
            [
                "send",
                "--desk",
                "usa.eucom",
                "--token",
                TOKENS["usa.eucom"],
                "--gateway",
                str(server.make_url("")).rstrip("/"),
                "--to",
                "fra.cell",
                "--precedence",
                "FLASH",
                "--subject",
                "Border crossing reopened at 0600Z",
                "--rel-to",
                "USA,FRA",
                "--desks",
                cli_env["desks"],
            ]
        )
        payload = send.submission_from_flags(send_args)
        assert await send.send(send_args, payload, TOKENS["usa.eucom"]) == 0
        assert await asyncio.wait_for(follower, 60) == 0
    finally:
        await server.close()
    shown = out.getvalue()
    assert "FLASH" in shown
    assert "liaison.message.v1" in shown
    assert "usa.eucom -> fra.cell" in shown
    assert "Border crossing reopened at 0600Z" in shown


async def test_dlq_lists_reasons_and_replays_the_original_record(cli_env):
    settings = CommonSettings(kafka_bootstrap=cli_env["bootstrap"], topic_prefix=cli_env["prefix"])
    source = f"{cli_env['prefix']}cell.submit.routine"

    class Poison:
        topic, partition, offset, key = source, 1, 41, b"usa.eucom"
        value = b'{"not": "an envelope"'
        headers = (("content-type", b"application/json"),)

    letter = deadletter.dead_letter(Poison(), reason="undecodable", error="truncated", service="t")
    producer = kafka.producer(settings, client_id="t")
    await producer.start()
    try:
        await producer.send_and_wait(
            cli_env["prefix"] + topics.DEADLETTER,
            letter.value,
            key=letter.key,
            headers=list(letter.headers),
        )
    finally:
        await producer.stop()

    records = await dlq.read_all(settings)
    assert len(records) == 1
    ids = f"{records[0].partition}:{records[0].offset}"
    assert dict(records[0].headers)[deadletter.HEADER_REASON] == b"undecodable"

    replayed = await dlq.replay(settings, records)
    assert replayed[0].startswith(f"{ids} -> {source}@")
    consumer = kafka.consumer(settings, group_id=None, client_id="check")
    await consumer.start()
    try:
        tp = TopicPartition(source, 1)  # the partition it came from
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        got = []
        for _ in range(40):
            got += (await consumer.getmany(timeout_ms=500)).get(tp, [])
            if got:
                break
    finally:
        await consumer.stop()
    assert [r.value for r in got] == [Poison.value]
    assert all(not k.startswith("dlq-") for k, _ in got[0].headers)


def test_logs_filters_and_renders_json_lines(tmp_path):
    lines = [
        json.dumps(
            {
                "event": "message_routed",
                "service": "router",
                "level": "info",
                "message_id": "m1",
                "timestamp": "2026-11-29T15:00:00Z",
            }
        ),
        json.dumps({"event": "request", "service": "gateway", "level": "warning", "desk": "x"}),
        "not json at all",
    ]
    args = _args(["logs", "--service", "router", "--no-color"])
    out = io.StringIO()
    assert logs.filter_lines([line + "\n" for line in lines], args, out) == 1
    text = out.getvalue()
    assert "message_routed" in text
    assert "gateway" not in text
    assert "not json" not in text  # filters drop non-JSON lines
