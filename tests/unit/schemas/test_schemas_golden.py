"""The golden v1 corpus keeps decoding and matches the exported JSON Schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from schemas import codec
from schemas.body import KINDS, tag_of

ROOT = Path(codec.__file__).resolve().parent
GOLDEN = sorted((ROOT / "golden" / "v1").glob("*.json"))
JSONSCHEMA = ROOT / "exports" / "jsonschema"


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def test_every_kind_has_a_golden_message():
    covered = {path.name.split("--")[0].removesuffix(".json") for path in GOLDEN}
    assert covered >= set(KINDS), sorted(set(KINDS) - covered)


def _subset(old: Any, new: Any) -> bool:
    """Everything in ``old`` is still in ``new`` (new optional fields may be added)."""
    if isinstance(old, dict):
        return isinstance(new, dict) and all(
            k in new and _subset(v, new[k]) for k, v in old.items()
        )
    if isinstance(old, list):
        return isinstance(new, list) and len(old) == len(new) and all(map(_subset, old, new))
    return bool(old == new)


@pytest.mark.parametrize("path", GOLDEN, ids=[p.name for p in GOLDEN])
def test_golden_message_decodes_without_loss(path):
    envelope = codec.decode(path.read_bytes())

    assert tag_of(envelope.body) == path.name.split("--")[0].removesuffix(".json")
    assert _subset(_load(path), json.loads(codec.encode(envelope)))


@pytest.mark.parametrize("path", GOLDEN, ids=[p.name for p in GOLDEN])
def test_golden_message_validates_against_the_exported_schemas(path):
    message = _load(path)
    for schema_file in (f"{message['body']['kind']}.json", "envelope.json"):
        schema = _load(JSONSCHEMA / schema_file)
        Draft202012Validator.check_schema(schema)
        errors = sorted(Draft202012Validator(schema).iter_errors(message), key=str)
        assert not errors, f"{schema_file}: {errors[0].message} at {errors[0].json_path}"


def test_the_kind_schema_refuses_another_kind():
    message = _load(JSONSCHEMA.parent.parent / "golden" / "v1" / "liaison.message.v1.json")
    schema = _load(JSONSCHEMA / "notify.ack.v1.json")
    assert not Draft202012Validator(schema).is_valid(message)


def _with_unknown_fields(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            **{k: _with_unknown_fields(v) for k, v in node.items()},
            "x_future_field": {"a": [1]},
        }
    if isinstance(node, list):
        return [_with_unknown_fields(v) for v in node]
    return node


@pytest.mark.parametrize("path", GOLDEN, ids=[p.name for p in GOLDEN])
def test_todays_decoder_accepts_fields_it_does_not_know(path):
    future = json.dumps(_with_unknown_fields(_load(path))).encode()

    assert codec.decode(future) == codec.decode(path.read_bytes())
