"""`cell desks`: list the registry's desks; issue or rotate a desk's bearer token.

A token is printed once and only its SHA-256 is written to the registry file; `issue` adds a
token beside the existing ones (for a handover), `rotate` replaces them all. Gateways read the
registry at start: restart them (or roll them) to apply a change.
"""

from __future__ import annotations

import argparse
import hashlib
import secrets
from pathlib import Path

import msgspec

from schemas.desks import DeskRegistry
from services.cli.common import registry_of, settings_from


def new_token(desk_id: str) -> str:
    return f"{desk_id.replace('.', '-')}-{secrets.token_urlsafe(24)}"


def with_token(registry: DeskRegistry, desk_id: str, token: str, *, rotate: bool) -> DeskRegistry:
    digest = hashlib.sha256(token.encode()).hexdigest()
    desks = []
    found = False
    for desk in registry.desks:
        if desk.id == desk_id:
            found = True
            hashes = (digest,) if rotate else (*desk.token_sha256, digest)
            desks.append(msgspec.structs.replace(desk, token_sha256=hashes))
        else:
            desks.append(desk)
    if not found:
        raise SystemExit(f"no desk {desk_id!r} in the registry")
    return msgspec.structs.replace(registry, desks=tuple(desks))


def _run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    registry = registry_of(settings)
    if args.action == "list":
        for d in registry.desks:
            roles = ",".join(sorted(r.value for r in d.roles)) or "-"
            flags = " exercise-only" if d.exercise_only else ""
            print(f"{d.id:24} {d.nation}  {d.clearance.value:<20} {roles}{flags}")
        return 0
    if not args.desk:
        raise SystemExit(f"`cell desks {args.action}` needs a desk id")
    token = new_token(args.desk)
    updated = with_token(registry, args.desk, token, rotate=args.action == "rotate")
    path = Path(settings.desks_file)
    path.write_bytes(msgspec.json.format(msgspec.json.encode(updated), indent=2) + b"\n")
    print(f"token for {args.desk} (shown once; only its hash is stored in {path}):")
    print(token)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "desks",
        help="list desks; issue or rotate a desk token",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("action", choices=["list", "issue", "rotate"])
    p.add_argument("desk", nargs="?", help="desk id (issue, rotate)")
    p.add_argument("--desks", help="desk registry file (default: CELL_DESKS_FILE)")
    p.set_defaults(handler=_run)
