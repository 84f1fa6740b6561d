"""Committed exports are current, and the AsyncAPI document is valid AsyncAPI 3.0."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

from schemas import asyncapi, export
from schemas.body import KINDS
from schemas.topics import fixed_specs

ROOT = Path(export.__file__).resolve().parent.parent
FETCH = ROOT / "schemas" / "tools" / "fetch_asyncapi_schema.sh"


@pytest.fixture(scope="module")
def asyncapi_validator() -> Draft7Validator:
    """The official AsyncAPI 3.0.0 schema (npm @asyncapi/specs, checksum-pinned, cached)."""
    done = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [str(FETCH)], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, f"{FETCH} failed (needs npm once): {done.stderr}"
    schema = json.loads(Path(done.stdout.strip()).read_text(encoding="utf-8"))
    return Draft7Validator(schema)


def test_committed_exports_are_current():
    done = subprocess.run(
        [sys.executable, "-m", "schemas.export", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_check_reports_stale_missing_and_orphaned_files(tmp_path):
    export.write(tmp_path)
    assert export.stale(tmp_path) == []
    (tmp_path / "asyncapi.json").write_text("{}", encoding="utf-8")
    (tmp_path / "jsonschema" / "notify.ack.v1.json").unlink()
    (tmp_path / "jsonschema" / "retired.v1.json").write_text("{}", encoding="utf-8")

    assert export.stale(tmp_path) == [
        "jsonschema/notify.ack.v1.json: missing",
        "asyncapi.json: stale",
        "jsonschema/retired.v1.json: no longer generated",
    ]
    assert export.main(["--check", "--out", str(tmp_path)]) == 1
    assert export.main(["--out", str(tmp_path)]) == 0
    assert export.stale(tmp_path) == []


def test_one_json_schema_per_kind():
    names = {p.name for p in (export.EXPORTS / "jsonschema").glob("*.json")}
    assert names == {f"{tag}.json" for tag in KINDS} | {"envelope.json", "submission.json"}


def test_asyncapi_document_is_valid_asyncapi_3(asyncapi_validator):
    document = json.loads((export.EXPORTS / "asyncapi.json").read_text(encoding="utf-8"))
    errors = list(asyncapi_validator.iter_errors(document))
    assert not errors, [f"{e.json_path}: {e.message[:200]}" for e in errors[:5]]


def test_the_validator_does_reject_a_broken_document(asyncapi_validator):
    document = asyncapi.document()
    document["channels"]["cell_audit"]["bindings"]["kafka"]["partitions"] = 0
    assert not asyncapi_validator.is_valid(document)


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def test_every_internal_reference_resolves():
    document = asyncapi.document()
    for ref in _refs(document):
        target: Any = document
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        assert isinstance(target, dict), ref


def test_every_topic_is_a_channel_with_its_kinds():
    channels = asyncapi.document()["channels"]
    addresses = {channel["address"]: channel for channel in channels.values()}
    for spec in fixed_specs():
        channel = addresses[spec.name]
        assert channel["bindings"]["kafka"]["partitions"] == spec.partitions
        for tag in spec.kinds:
            assert tag.replace(".", "_") in channel["messages"]
    inbox = addresses[asyncapi.INBOX_TEMPLATE]
    assert set(inbox["parameters"]) == {"nation", "desk", "lane"}
    assert len(inbox["messages"]) == len(KINDS)
