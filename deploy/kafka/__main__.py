"""`python -m deploy.kafka fetch | start | cluster`: the launcher from the command line.

`fetch` resolves the broker jars (the Makefile calls it so the download shows its progress);
`start` runs a broker in the foreground until Ctrl-C or SIGTERM, then stops it cleanly.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from deploy.kafka import jars
from deploy.kafka.launcher import BrokerError, KafkaCluster


def _foreground(args: argparse.Namespace, size: int) -> int:
    cluster = KafkaCluster.create(
        Path(args.state_dir), size=size, ports=args.port or None, fresh=args.fresh, heap=args.heap
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        cluster.start()
    except BrokerError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(cluster.bootstrap, flush=True)
    try:
        stop.wait()
    finally:
        cluster.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.kafka", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("fetch", help="resolve the broker jars from Maven Central (cached)")
    for name, size in (("start", 1), ("cluster", 3)):
        p = sub.add_parser(name, help=f"run {size} KRaft node(s) in the foreground")
        p.add_argument("--state-dir", default=f".state/kafka-{name}")
        p.add_argument("--port", type=int, action="append", help="client port (once per node)")
        p.add_argument("--fresh", action="store_true", help="wipe earlier data first")
        p.add_argument("--heap", help="JVM heap per node, e.g. 1g (default: 1g alone, 512m in 3)")
    args = parser.parse_args(argv)
    try:
        if args.command == "fetch":
            print(jars.fetch())
            return 0
        return _foreground(args, 1 if args.command == "start" else 3)
    except jars.JarFetchError as exc:
        print(exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
