"""`cell up`: the whole system on one machine, in the foreground, until Ctrl-C.

A local KRaft broker (unless KAFKA_BOOTSTRAP names one), the registry's topics, then every
service that exists as its own process (`python -m services.<name>`), with a status line per
component when anything changes. A service that dies is restarted with backoff. Ctrl-C (or
SIGTERM) stops the services first, then the broker, and leaves no JVM behind. On Linux each
service also gets SIGTERM from the kernel when `cell up` dies without cleaning up (kill -9):
no service outlives it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import secrets
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from deploy.kafka.launcher import BrokerError, KafkaCluster
from schemas.desks import RegistryError
from services.cli.topics import print_report, specs_for
from services.runtime.errors import CellError
from services.runtime.process import die_with_parent
from services.runtime.provision import provision
from services.runtime.settings import CommonSettings, load

# Start order: the router before the gateway, so that nothing accepted waits for a router.
SERVICES = ("router", "monitoring", "commission", "support", "tasking", "gateway")
STOP_TIMEOUT_S = 15.0
RESTART_BACKOFF_S = (1.0, 2.0, 5.0, 10.0)


def available_services() -> list[str]:
    """The services built so far: packages under `services/` with a `__main__`."""
    return [
        s
        for s in SERVICES
        if importlib.util.find_spec(f"services.{s}") is not None
        and importlib.util.find_spec(f"services.{s}.__main__") is not None
    ]


def _say(message: str) -> None:
    print(f"[cell] {message}", file=sys.stderr, flush=True)


@dataclass
class Component:
    name: str
    env: dict[str, str]
    process: asyncio.subprocess.Process | None = None
    restarts: int = 0
    state: str = "starting"

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            f"services.{self.name}",
            env=self.env,
            # PDEATHSIG is bound to the forking thread: this is the event loop's, which lives
            # as long as `cell up` supervises.
            preexec_fn=die_with_parent(),
        )
        self.state = "up"

    async def stop(self) -> None:
        proc = self.process
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            _say(f"{self.name} ignored SIGTERM for {STOP_TIMEOUT_S:.0f}s: killing it")
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        self.state = "stopped"


def _demo_tokens(desks_file: Path) -> dict[str, str]:
    tokens = desks_file.with_name(desks_file.stem + "-tokens.json")
    if not tokens.exists():
        return {}
    data = json.loads(tokens.read_text())
    if isinstance(data, dict) and isinstance(data.get("tokens"), dict):
        data = data["tokens"]
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _cursor_secret(state_dir: Path) -> str:
    """The gateway's cursor-signing key, kept in the state directory.

    Desks hold cursors across gateway restarts, so the key must outlive the process; a
    deployment sets CELL_CURSOR_SECRET itself (the same value on every gateway).
    """
    path = state_dir / "cursor-secret"
    if not path.exists():
        state_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


async def _supervise(components: list[Component], stop: asyncio.Event) -> None:
    for c in components:
        await c.start()
    _say("cell is up: " + ", ".join(f"{c.name}={c.state}" for c in components))
    last_line = ""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
        if stop.is_set():
            break
        for c in components:
            if c.process is not None and c.process.returncode is not None:
                delay = RESTART_BACKOFF_S[min(c.restarts, len(RESTART_BACKOFF_S) - 1)]
                c.state = f"exited({c.process.returncode}), restart in {delay:.0f}s"
                _say(
                    f"{c.name} exited with code {c.process.returncode}; restarting in {delay:.0f}s"
                )
                c.restarts += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                if not stop.is_set():
                    await c.start()
        line = ", ".join(f"{c.name}={c.state}" for c in components)
        if line != last_line:
            _say(f"status: kafka=up, {line}")
            last_line = line
    _say("stopping services")
    await asyncio.gather(*(c.stop() for c in reversed(components)))


async def _main(components: list[Component]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await _supervise(components, stop)


def _run(args: argparse.Namespace) -> int:
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    external = env.get("KAFKA_BOOTSTRAP")
    cluster: KafkaCluster | None = None
    # SIGTERM during the (blocking) broker start must unwind through `finally` like Ctrl-C.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        if external:
            _say(f"using the Kafka broker at KAFKA_BOOTSTRAP={external}")
            bootstrap = external
        else:
            _say(f"starting a local Kafka broker (state in {args.state_dir}/kafka)")
            cluster = KafkaCluster.create(
                Path(args.state_dir) / "kafka", ports=[args.kafka_port] if args.kafka_port else None
            ).start()
            bootstrap = cluster.bootstrap
        env["CELL_KAFKA_BOOTSTRAP"] = bootstrap
        env.setdefault("CELL_CURSOR_SECRET", _cursor_secret(Path(args.state_dir)))
        settings = load(CommonSettings, env)
        report = asyncio.run(provision(bootstrap, specs_for(settings), timeout_s=120))
        print_report(report)
        tokens = _demo_tokens(Path(settings.desks_file))
        if tokens:
            _say("demo desk tokens (demo registry only; never use these outside a demo):")
            for desk, token in tokens.items():
                print(f"    {desk:24} {token}", flush=True)
        names = available_services()
        _say(f"starting services: {', '.join(names) or '(none yet)'}")
        asyncio.run(_main([Component(n, env) for n in names]))
    except KeyboardInterrupt:
        _say("interrupted")
    except BrokerError as exc:
        _say(f"the broker did not start: {exc}")
        return 1
    except (CellError, RegistryError) as exc:
        _say(f"cannot start: {exc}")
        return 2
    finally:
        if cluster is not None:
            _say("stopping the Kafka broker")
            cluster.stop()
            _say("stopped")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "up",
        help="run the broker, topics, services and gateway in the foreground",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--state-dir", default=".state", help="where the local broker keeps its data")
    p.add_argument(
        "--kafka-port",
        type=int,
        help="client port of the local broker (default 9092)",
        default=9092,
    )
    p.set_defaults(handler=_run)
