"""`cell topics`: provision the registry's topics, or show what exists and what drifted."""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path

from schemas.desks import load_registry
from schemas.topics import TopicSpec, registry
from services.runtime.provision import ProvisionReport, provision
from services.runtime.settings import CommonSettings, load


def specs_for(settings: CommonSettings) -> list[TopicSpec]:
    desks = load_registry(Path(settings.desks_file))
    return registry(
        desks, replication_factor=settings.kafka_replication_factor, prefix=settings.topic_prefix
    )


def print_report(report: ProvisionReport) -> None:
    for name in report.created:
        print(f"created    {name}")
    for drift in report.drift:
        print(
            f"DRIFT      {drift.topic}: {drift.setting} is {drift.actual}, "
            f"the registry says {drift.expected}"
        )
    print(
        f"topics: {len(report.created)} created, {len(report.unchanged)} unchanged, "
        f"{len(report.drifted)} drifted"
    )


def _run(args: argparse.Namespace) -> int:
    env = dict(os.environ)
    if args.bootstrap:
        env["CELL_KAFKA_BOOTSTRAP"] = args.bootstrap
    elif "KAFKA_BOOTSTRAP" in env:
        env.setdefault("CELL_KAFKA_BOOTSTRAP", env["KAFKA_BOOTSTRAP"])
    settings = load(CommonSettings, env)
    specs = specs_for(settings)
    if args.action == "list":
        for spec in specs:
            print(
                f"{spec.name:60} partitions={spec.partitions} cleanup={spec.cleanup_policy.value}"
            )
        return 0
    report = asyncio.run(provision(settings.kafka_bootstrap, specs, timeout_s=60))
    print_report(report)
    return 1 if report.drifted and args.action == "check" else 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "topics",
        help="provision, list or check the registry's topics",
        description="Topics come from the registry in schemas/topics.py and the desk registry.",
    )
    p.add_argument(
        "action",
        choices=["provision", "list", "check"],
        help="provision: create missing, report drift; list: the registry; check: exit 1 on drift",
    )
    p.add_argument("--bootstrap", help="Kafka bootstrap (default: CELL_KAFKA_BOOTSTRAP)")
    p.set_defaults(handler=_run)
