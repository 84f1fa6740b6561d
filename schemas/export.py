"""``python -m schemas.export [--check]``: write (or verify) the committed exports.

Writes ``schemas/exports/jsonschema/<kind>.json`` (plus ``envelope.json`` and
``submission.json``) and ``schemas/exports/asyncapi.json``. ``--check`` writes nothing and
exits 1 when a committed file is stale, missing or no longer generated.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import msgspec

from schemas import asyncapi, jsonschema

EXPORTS = Path(__file__).resolve().parent / "exports"
_ENCODER = msgspec.json.Encoder()


def render(document: object) -> bytes:
    return msgspec.json.format(_ENCODER.encode(document), indent=2) + b"\n"


def expected() -> dict[str, bytes]:
    """Relative path -> content, for every export."""
    files = {
        f"jsonschema/{tag}.json": render(doc) for tag, doc in jsonschema.kind_documents().items()
    }
    files["jsonschema/envelope.json"] = render(jsonschema.envelope_document())
    files["jsonschema/submission.json"] = render(jsonschema.submission_document())
    files["asyncapi.json"] = render(asyncapi.document())
    return files


def stale(out: Path = EXPORTS) -> list[str]:
    """Exports that differ from what the code generates now (empty: all current)."""
    files = expected()
    problems = [
        f"{name}: {'missing' if not (out / name).exists() else 'stale'}"
        for name, content in files.items()
        if not (out / name).exists() or (out / name).read_bytes() != content
    ]
    problems += [
        f"{path.relative_to(out).as_posix()}: no longer generated"
        for path in sorted(out.rglob("*.json"))
        if path.relative_to(out).as_posix() not in files
    ]
    return problems


def write(out: Path = EXPORTS) -> list[str]:
    files = expected()
    for path in out.rglob("*.json"):
        if path.relative_to(out).as_posix() not in files:
            path.unlink()
    for name, content in files.items():
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.read_bytes() != content:
            target.write_bytes(content)
    return sorted(files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m schemas.export", description=__doc__)
    parser.add_argument("--check", action="store_true", help="verify, do not write")
    parser.add_argument("--out", type=Path, default=EXPORTS, help="exports directory")
    args = parser.parse_args(argv)
    if args.check:
        problems = stale(args.out)
        for problem in problems:
            sys.stderr.write(f"{problem}\n")
        if problems:
            sys.stderr.write("exports are stale: run `python -m schemas.export`\n")
        return 1 if problems else 0
    written = write(args.out)
    sys.stdout.write(f"{len(written)} exports up to date in {args.out}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
