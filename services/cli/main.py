"""`cell` entry point: one command with subcommands, `--help` everywhere."""

from __future__ import annotations

import argparse
import sys

from services.cli import config, desks, dlq, logs, send, tail, topics, up


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cell",
        description="Paris coordination cell: messaging backbone on Apache Kafka.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    up.register(sub)
    topics.register(sub)
    config.register(sub)
    tail.register(sub)
    send.register(sub)
    dlq.register(sub)
    desks.register(sub)
    logs.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
