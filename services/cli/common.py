"""What the `cell` subcommands share: settings from the environment, the desk registry."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from schemas.desks import DeskRegistry, load_registry
from services.runtime.settings import CommonSettings, load


def settings_from(args: argparse.Namespace) -> CommonSettings:
    """CELL_* settings, with `--bootstrap` (or a bare KAFKA_BOOTSTRAP) taking precedence."""
    env = dict(os.environ)
    if "KAFKA_BOOTSTRAP" in env:
        env.setdefault("CELL_KAFKA_BOOTSTRAP", env["KAFKA_BOOTSTRAP"])
    if getattr(args, "bootstrap", None):
        env["CELL_KAFKA_BOOTSTRAP"] = args.bootstrap
    if getattr(args, "prefix", None) is not None:
        env["CELL_TOPIC_PREFIX"] = args.prefix
    if getattr(args, "desks", None):
        env["CELL_DESKS_FILE"] = args.desks
    return load(CommonSettings, env)


def registry_of(settings: CommonSettings) -> DeskRegistry:
    return load_registry(Path(settings.desks_file))


def add_kafka_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bootstrap", help="Kafka bootstrap (default: CELL_KAFKA_BOOTSTRAP)")
    p.add_argument("--prefix", help="topic prefix (default: CELL_TOPIC_PREFIX)")
    p.add_argument("--desks", help="desk registry file (default: CELL_DESKS_FILE)")
