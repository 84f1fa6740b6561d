"""JSON Schema (2020-12) documents generated from the structs.

One document per kind, each the full Envelope with its body narrowed to that kind (what a
consumer of that kind validates against), plus the Envelope with any kind and the
Submission a desk posts. Documents are self-contained (``$defs``) so that non-Python
consumers can generate code from one file.
"""

from __future__ import annotations

import copy
from typing import Any

import msgspec

from schemas.body import BODY_TYPES, tag_of
from schemas.envelope import Envelope, Submission

DIALECT = "https://json-schema.org/draft/2020-12/schema"
ID_BASE = "urn:paris-cell:schema:"
_DEFS = "#/$defs/"

JsonObject = dict[str, Any]


def _components() -> tuple[JsonObject, dict[str, str]]:
    """All definitions, and each kind's tag -> its definition name."""
    refs, defs = msgspec.json.schema_components(
        [Envelope, Submission, *BODY_TYPES], ref_template=_DEFS + "{name}"
    )
    names = {
        tag_of(kind): ref["$ref"].removeprefix(_DEFS)
        for kind, ref in zip(BODY_TYPES, refs[2:], strict=True)
    }
    return defs, names


def _refs(node: object) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_DEFS):
            found.add(ref.removeprefix(_DEFS))
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def _document(root: JsonObject, defs: JsonObject, *, doc_id: str, title: str) -> JsonObject:
    """A self-contained document: ``root`` inline, with only the definitions it reaches."""
    reachable: set[str] = set()
    pending = _refs(root)
    while pending:
        name = pending.pop()
        if name not in reachable:
            reachable.add(name)
            pending |= _refs(defs[name]) - reachable
    return {
        "$schema": DIALECT,
        "$id": ID_BASE + doc_id,
        **root,
        "title": title,
        "$defs": {name: defs[name] for name in sorted(reachable)},
    }


def kind_documents() -> dict[str, JsonObject]:
    """tag -> the schema of an Envelope whose body is that kind."""
    defs, names = _components()
    documents: dict[str, JsonObject] = {}
    for tag, name in names.items():
        envelope = copy.deepcopy(defs["Envelope"])
        envelope["properties"]["body"] = {"$ref": _DEFS + name}
        documents[tag] = _document(envelope, defs, doc_id=tag, title=f"Envelope carrying {tag}")
    return documents


def envelope_document() -> JsonObject:
    defs, _ = _components()
    return _document(defs["Envelope"], defs, doc_id="envelope", title="Envelope (any kind)")


def submission_document() -> JsonObject:
    defs, _ = _components()
    return _document(
        defs["Submission"], defs, doc_id="submission", title="Submission (POSTed by a desk)"
    )
