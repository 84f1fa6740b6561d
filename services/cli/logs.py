"""`cell logs`: pretty-print and filter the JSON log lines of the services.

Reads files or standard input (`make run 2>&1 | cell logs --level warning`, or a container's
output), keeps the lines that match every filter, and renders them with structlog's console
renderer (coloured in a terminal) or passes them through as JSON with `--json`. Lines that are
not JSON (a JVM banner, a traceback) are printed unchanged unless a filter is given.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

import msgspec
import structlog

_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}
_DECODER = msgspec.json.Decoder(dict[str, Any])
_FIELDS = ("event", "service", "message_id", "desk", "topic", "outcome")


def _lines(paths: list[str]) -> Iterator[str]:
    if not paths:
        yield from sys.stdin
        return
    for path in paths:
        with Path(path).open(errors="replace") as handle:
            yield from handle


def keep(entry: dict[str, Any], args: argparse.Namespace) -> bool:
    level = _LEVELS.get(str(entry.get("level", "info")).lower(), 20)
    if args.level and level < _LEVELS[args.level]:
        return False
    for name in _FIELDS:
        wanted = getattr(args, name, None)
        if wanted and str(entry.get(name, "")) != wanted:
            return False
    return True


def filter_lines(lines: Iterable[str], args: argparse.Namespace, out: TextIO) -> int:
    renderer = structlog.dev.ConsoleRenderer(colors=out.isatty() and not args.no_color)
    filtering = bool(args.level or any(getattr(args, f, None) for f in _FIELDS))
    shown = 0
    for line in lines:
        try:
            entry = _DECODER.decode(line)
        except msgspec.DecodeError:
            if not filtering:
                out.write(line)
            continue
        if not keep(entry, args):
            continue
        shown += 1
        if args.json:
            out.write(line if line.endswith("\n") else line + "\n")
            continue
        stamp = entry.pop("timestamp", "")
        rendered = renderer(None, "", dict(entry))
        out.write(f"{stamp} {rendered}\n" if stamp else f"{rendered}\n")
    out.flush()
    return shown


def _run(args: argparse.Namespace) -> int:
    filter_lines(_lines(args.files), args, sys.stdout)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "logs",
        help="pretty-print and filter JSON logs",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("files", nargs="*", help="log files (default: standard input)")
    p.add_argument("--level", choices=list(_LEVELS), help="minimum level")
    p.add_argument("--event", help="only this event, e.g. message_routed")
    p.add_argument("--service", help="only this service, e.g. router")
    p.add_argument("--message-id", dest="message_id", help="follow one message across services")
    p.add_argument("--desk", help="only lines about this desk")
    p.add_argument("--topic")
    p.add_argument("--outcome")
    p.add_argument("--json", action="store_true", help="print matching lines as JSON")
    p.add_argument("--no-color", action="store_true")
    p.set_defaults(handler=_run)
