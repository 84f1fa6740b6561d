"""`cell send`: submit a message through the gateway as a desk, from a file or from flags.

The token comes from `--token`, `CELL_TOKEN`, or (for the demo registry only) the demo tokens
file beside the registry. The gateway's answer (202 with message id, DTG and Kafka position,
or a problem document) is printed as JSON; the exit code is 0 only for an acceptance.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from services.cli.common import registry_of, settings_from

TIMEOUT_S = 30.0


def _token(args: argparse.Namespace) -> str:
    if args.token or os.environ.get("CELL_TOKEN"):
        return str(args.token or os.environ["CELL_TOKEN"])
    desks_file = Path(settings_from(args).desks_file)
    tokens_file = desks_file.with_name(desks_file.stem + "-tokens.json")
    if tokens_file.exists():
        tokens = json.loads(tokens_file.read_text()).get("tokens", {})
        if args.desk in tokens:
            return str(tokens[args.desk])
    raise SystemExit(f"no token for {args.desk}: pass --token or set CELL_TOKEN")


def submission_from_flags(args: argparse.Namespace) -> dict[str, object]:
    if not args.to or not args.subject:
        raise SystemExit("without --file, --to and --subject are required")
    # Unclassified liaison traffic is releasable to every nation of the registry by default.
    rel_to = (
        args.rel_to.split(",")
        if args.rel_to
        else sorted({d.nation for d in registry_of(settings_from(args)).desks})
    )
    return {
        "traffic_type": args.traffic_type,
        "action_to": args.to.split(","),
        "info_to": args.info.split(",") if args.info else [],
        "primary_precedence": args.precedence,
        "label": {
            "policy": args.policy,
            "classification": args.classification,
            "releasable_to": rel_to,
            "created_at": datetime.now(UTC).isoformat(),
        },
        "subject": args.subject,
        "body": {"kind": "liaison.message.v1", "text": args.text or args.subject},
    }


async def send(args: argparse.Namespace, payload: dict[str, object], token: str) -> int:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.post(f"{args.gateway}/v1/messages", json=payload, headers=headers) as response,
    ):
        body = await response.text()
        print(body)
        if response.status != 202:  # noqa: PLR2004 - the one success status
            print(f"gateway answered {response.status}", file=sys.stderr)
            return 1
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "send",
        help="submit a message through the gateway as a desk",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--desk", required=True, help="the desk to send as (its token is used)")
    p.add_argument("--token", help="bearer token (default: CELL_TOKEN or the demo tokens)")
    p.add_argument("--gateway", default="http://127.0.0.1:8080", help="gateway base URL")
    p.add_argument("--file", help="a JSON submission (see GET /v1/openapi.json)")
    p.add_argument("--to", help="action addressees, comma-separated (desks or groups)")
    p.add_argument("--info", help="info addressees, comma-separated")
    p.add_argument(
        "--precedence",
        default="ROUTINE",
        choices=["FLASH", "IMMEDIATE", "PRIORITY", "ROUTINE"],
        type=str.upper,
    )
    p.add_argument("--subject")
    p.add_argument("--text", help="liaison message text (default: the subject)")
    p.add_argument("--policy", default="NATO")
    p.add_argument("--classification", default="NATO UNCLASSIFIED")
    p.add_argument("--rel-to", help="releasable-to nations, comma-separated ISO3")
    p.add_argument(
        "--traffic-type", default="OPERATION", choices=["OPERATION", "EXERCISE", "DRILL"]
    )
    p.add_argument("--desks", help="desk registry file (default: CELL_DESKS_FILE)")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    payload = json.loads(Path(args.file).read_text()) if args.file else submission_from_flags(args)
    return asyncio.run(send(args, payload, _token(args)))
