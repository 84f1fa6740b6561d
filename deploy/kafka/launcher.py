"""Start, stop and abuse real Apache Kafka KRaft brokers from the jars in the Maven cache.

One node (combined broker + controller) for development, tests and `make run`; three nodes on
one host (RF 3, min ISR 2, unclean election off) for the fault tests, with kill -9, pause
(SIGSTOP / SIGCONT) and restart of one node by id.

Orphans are prevented twice: each JVM gets PR_SET_PDEATHSIG so it dies with the process that
started it (pytest killed with -9, a Ctrl-C'd `make run`), and each node keeps a pid file in its
state directory, so the next start finds and stops a JVM that outlived its parent anyway.

The launcher is synchronous on purpose: call it from the main thread (PDEATHSIG is bound to the
thread that forked the JVM, and a worker thread may exit long before the broker should).
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import functools
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Self

from deploy.kafka import jars
from deploy.kafka.config import ADMIN_USER, NodeConfig, log4j_properties, server_properties

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0
_READY_LINE = "Kafka Server started"
_VERSION_RE = re.compile(r"Kafka version: (\S+)")
_PR_SET_PDEATHSIG = 1


class BrokerError(RuntimeError):
    """A broker failed to format, start or stop; the message ends with its log tail."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def new_cluster_id() -> str:
    # Kafka's Uuid string form: 16 random bytes, URL-safe base64 without padding; never a
    # leading '-', which its command-line tools would take for an option.
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cid.startswith("-"):
            return cid


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


# Kafka holds a descriptor per log segment and per connection; its operations guide asks for
# 100,000 or more. A test session provisions thousands of partitions on one broker.
_KAFKA_FDS = 262_144


def _raise_fd_limit() -> None:
    """Raise the JVM's open-file limit as far as allowed (the hard limit needs privilege)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = max(soft, _KAFKA_FDS)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, max(hard, wanted)))
    except (ValueError, OSError):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _prepare_child(*, die_with_parent: bool) -> None:
    _raise_fd_limit()
    if die_with_parent:
        _die_with_parent()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _say(message: str) -> None:
    print(f"[kafka] {message}", file=sys.stderr, flush=True)


@dataclass
class KafkaNode:
    """One KRaft node: its ports, its directory and, while running, its JVM."""

    config: NodeConfig
    libs: Path
    heap: str = "512m"
    die_with_parent: bool = True
    # Security mode only: more SCRAM users (name -> password) formatted into the storage.
    scram_users: dict[str, str] = field(default_factory=dict, repr=False)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    # Where this start's output begins in the log, so an earlier run's ready line never counts.
    _log_offset: int = field(default=0, repr=False)

    @property
    def node_id(self) -> int:
        return self.config.node_id

    @property
    def directory(self) -> Path:
        return self.config.directory

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.config.port}"

    @property
    def log_file(self) -> Path:
        return self.directory / "kafka.log"

    @property
    def pid_file(self) -> Path:
        return self.directory / "broker.pid"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return "(no broker log yet)"
        return "\n".join(text.splitlines()[-lines:])

    def version(self) -> str | None:
        """The version the running broker printed about itself, proof it is the real thing."""
        with contextlib.suppress(FileNotFoundError):
            match = _VERSION_RE.search(self.log_file.read_text(errors="replace"))
            if match:
                return match.group(1)
        return None

    def _java(self, main: str, *args: str, heap: str) -> list[str]:
        java = shutil.which("java")
        if java is None:
            raise BrokerError("`java` is not on PATH: install a Java 17+ runtime")
        return [
            java,
            f"-Xms{heap}",
            f"-Xmx{heap}",
            "-server",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:InitiatingHeapOccupancyPercent=35",
            "-XX:+ExplicitGCInvokesConcurrent",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.directory / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={self.directory / 'logs'}",
            # Marks the JVM as ours so a stale pid file is never taken for a stranger's pid.
            f"-Dcell.node.dir={self.directory}",
            "-cp",
            f"{self.libs}/*",
            main,
            *args,
        ]

    def prepare(self, cluster_id: str, voters: str) -> None:
        """Write the node's configuration and format its storage (a no-op when formatted)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "logs").mkdir(exist_ok=True)
        props = self.directory / "server.properties"
        props.write_text(server_properties(self.config, voters))
        (self.directory / "log4j2.properties").write_text(log4j_properties())
        scram: tuple[str, ...] = ()
        if self.config.admin_password is not None:
            props.chmod(0o600)  # it holds the admin password
            # SCRAM credentials are metadata records: written into the log at format time.
            users = {ADMIN_USER: self.config.admin_password} | self.scram_users
            scram = tuple(
                arg
                for name, password in users.items()
                for arg in ("--add-scram", f"SCRAM-SHA-512=[name={name},password={password}]")
            )
        cmd = self._java(
            "kafka.tools.StorageTool",
            "format",
            "-t",
            cluster_id,
            "-c",
            str(props),
            "--ignore-formatted",
            *scram,
            heap="256m",
        )
        try:
            result = subprocess.run(  # noqa: S603 - fixed argv, no shell
                cmd, capture_output=True, text=True, timeout=120, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise BrokerError(f"formatting node {self.node_id} took over 120s") from exc
        if result.returncode != 0:
            raise BrokerError(
                f"formatting node {self.node_id} failed:\n{(result.stdout + result.stderr)[-3000:]}"
            )

    def reap_stale(self) -> None:
        """Stop a JVM left running by an interrupted run, found through the pid file."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return
        if _pid_alive(pid) and f"-Dcell.node.dir={self.directory}" in _cmdline(pid):
            _say(f"node {self.node_id}: stopping stale broker pid {pid} from an earlier run")
            _terminate(pid, STOP_TIMEOUT_S)
        self.pid_file.unlink(missing_ok=True)

    def start(self) -> None:
        if self.running():
            return
        self.reap_stale()
        cmd = self._java("kafka.Kafka", str(self.directory / "server.properties"), heap=self.heap)
        with self.log_file.open("ab") as log:
            log.write(f"\n===== start {time.strftime('%Y-%m-%dT%H:%M:%S')} =====\n".encode())
            log.flush()
            self._log_offset = log.tell()
            self.process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # Own session: a terminal's Ctrl-C reaches us, and we stop the broker last.
                start_new_session=True,
                preexec_fn=functools.partial(  # noqa: PLW1509 - no threads run at start
                    _prepare_child, die_with_parent=self.die_with_parent
                ),
            )
        self.pid_file.write_text(f"{self.process.pid}\n")

    def wait_ready(self, deadline: float) -> None:
        """Block until this start logged readiness and the port accepts connections."""
        while True:
            if not self.running():
                raise BrokerError(
                    f"node {self.node_id} exited with code "
                    f"{self.process.returncode if self.process else '?'} before it was ready; "
                    f"log tail:\n{self.log_tail()}"
                )
            with self.log_file.open("rb") as log:
                log.seek(self._log_offset)
                if _READY_LINE.encode() in log.read() and _port_open(self.config.port):
                    return
            if time.monotonic() > deadline:
                raise BrokerError(
                    f"node {self.node_id} not ready after {READY_TIMEOUT_S:.0f}s "
                    f"(waiting for '{_READY_LINE}' on port {self.config.port}); "
                    f"log tail:\n{self.log_tail()}"
                )
            time.sleep(0.2)

    def send(self, sig: signal.Signals) -> None:
        if self.process is None or self.process.poll() is not None:
            raise BrokerError(f"node {self.node_id} is not running")
        os.kill(self.process.pid, sig)

    def kill(self) -> None:
        """kill -9: no shutdown hooks, no controlled shutdown."""
        if self.running():
            self.send(signal.SIGKILL)
        self._reap()

    def pause(self) -> None:
        self.send(signal.SIGSTOP)

    def resume(self) -> None:
        self.send(signal.SIGCONT)

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM (Kafka's clean shutdown), then SIGKILL after the timeout."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGCONT)  # a paused JVM cannot exit
            _terminate(self.process.pid, timeout_s, self.process)
        self._reap()

    def _reap(self) -> None:
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=STOP_TIMEOUT_S)
        self.pid_file.unlink(missing_ok=True)


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _terminate(pid: int, timeout_s: float, process: subprocess.Popen[bytes] | None = None) -> None:
    def gone() -> bool:
        if process is not None:
            return process.poll() is not None
        return not _pid_alive(pid)

    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while not gone() and time.monotonic() < deadline:
        time.sleep(0.1)
    if not gone():
        _say(f"pid {pid} ignored SIGTERM for {timeout_s:.0f}s: sending SIGKILL")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        if process is not None:
            process.wait(timeout=10)


@dataclass
class KafkaCluster:
    """One or more KRaft nodes sharing a cluster id and a static voter set."""

    state_dir: Path
    nodes: list[KafkaNode]
    cluster_id: str

    @classmethod
    def create(
        cls,
        state_dir: Path,
        *,
        size: int = 1,
        ports: list[int] | None = None,
        fresh: bool = False,
        heap: str | None = None,
        die_with_parent: bool = True,
        libs: Path | None = None,
        security: bool = False,
        users: dict[str, str] | None = None,
    ) -> Self:
        """Lay out `size` nodes under `state_dir`; `fresh` wipes data from an earlier run.

        Ports are reused from the last run of the same state directory when not given (a
        formatted KRaft quorum remembers its voters' addresses), otherwise chosen free.
        `security` starts the nodes with SASL/SCRAM-SHA-512 and ACLs (see
        `config.server_properties`); the admin principal's password is kept in the state
        directory and offered as `admin_password`; `users` (name -> password) are more
        SCRAM principals formatted in with it (a fresh state directory is needed to add some).
        """
        if users and not security:
            raise ValueError("SCRAM `users` need `security=True`")
        libs = libs or jars.fetch(quiet=True)
        state_dir = state_dir.resolve()
        previous = cls._previous_ports(state_dir, size)
        if fresh:
            cls._stop_stale(state_dir, size, libs)
            shutil.rmtree(state_dir, ignore_errors=True)
            previous = None
        state_dir.mkdir(parents=True, exist_ok=True)
        id_file = state_dir / "cluster.id"
        if id_file.exists():
            cluster_id = id_file.read_text().strip()
        else:
            cluster_id = new_cluster_id()
            id_file.write_text(cluster_id + "\n")
        if ports is not None and len(ports) != size:
            raise ValueError(f"{size} nodes need {size} client ports, got {len(ports)}")
        client_ports = ports or (previous[0] if previous else [free_port() for _ in range(size)])
        controller_ports = previous[1] if previous else [free_port() for _ in range(size)]
        (state_dir / "ports").write_text(
            " ".join(map(str, client_ports)) + "\n" + " ".join(map(str, controller_ports)) + "\n"
        )
        password = cls._admin_password(state_dir) if security else None
        nodes = [
            KafkaNode(
                NodeConfig(
                    node_id=i + 1,
                    port=client_ports[i],
                    controller_port=controller_ports[i],
                    directory=state_dir / f"node-{i + 1}",
                    cluster_size=size,
                    admin_password=password,
                ),
                libs=libs,
                # The official scripts' 1G; a test session creates thousands of partitions, and
                # KRaft metadata images grow with them (512m ran out of heap at ~17k).
                heap=heap or ("1g" if size == 1 else "512m"),
                die_with_parent=die_with_parent,
                scram_users=dict(users or {}),
            )
            for i in range(size)
        ]
        return cls(state_dir=state_dir, nodes=nodes, cluster_id=cluster_id)

    @staticmethod
    def _admin_password(state_dir: Path) -> str:
        """The security mode's admin password: the one formatted into the storage, if any."""
        path = state_dir / "admin.password"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(18) + "\n")
            path.chmod(0o600)
        return path.read_text().strip()

    @property
    def admin_password(self) -> str | None:
        return self.nodes[0].config.admin_password

    @staticmethod
    def _previous_ports(state_dir: Path, size: int) -> tuple[list[int], list[int]] | None:
        try:
            lines = (state_dir / "ports").read_text().splitlines()
            client, controller = ([int(p) for p in line.split()] for line in lines[:2])
        except (FileNotFoundError, ValueError):
            return None
        if len(client) != size or len(controller) != size:
            return None
        return client, controller

    @staticmethod
    def _stop_stale(state_dir: Path, size: int, libs: Path) -> None:
        for i in range(size):
            cfg = NodeConfig(
                node_id=i + 1,
                port=0,
                controller_port=0,
                directory=state_dir / f"node-{i + 1}",
                cluster_size=size,
            )
            KafkaNode(cfg, libs=libs).reap_stale()

    @property
    def voters(self) -> str:
        return ",".join(f"{n.node_id}@127.0.0.1:{n.config.controller_port}" for n in self.nodes)

    @property
    def bootstrap(self) -> str:
        return ",".join(n.bootstrap for n in self.nodes)

    def node(self, node_id: int) -> KafkaNode:
        for n in self.nodes:
            if n.node_id == node_id:
                return n
        raise KeyError(f"no node {node_id} (nodes: {[n.node_id for n in self.nodes]})")

    def start(self, timeout_s: float = READY_TIMEOUT_S) -> Self:
        started = time.monotonic()
        for n in self.nodes:
            n.reap_stale()
        _parallel([functools.partial(n.prepare, self.cluster_id, self.voters) for n in self.nodes])
        try:
            for n in self.nodes:
                n.start()
            deadline = time.monotonic() + timeout_s
            for n in self.nodes:
                n.wait_ready(deadline)
        except BaseException:
            self.stop()
            raise
        _say(
            f"Apache Kafka {self.nodes[0].version() or '?'} ready at {self.bootstrap} "
            f"({len(self.nodes)} node(s), {time.monotonic() - started:.1f}s, "
            f"state {self.state_dir})"
        )
        return self

    def restart_node(self, node_id: int, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Start a stopped or killed node again on its formatted storage (no re-format)."""
        n = self.node(node_id)
        n.start()
        n.wait_ready(time.monotonic() + timeout_s)

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        # SIGTERM every node at once: stopped one by one, the last nodes of a KRaft quorum
        # wait for a controller that has already gone.
        for n in self.nodes:
            if n.running() and n.process is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(n.process.pid, signal.SIGCONT)
                    os.kill(n.process.pid, signal.SIGTERM)
        _parallel([functools.partial(n.stop, timeout_s) for n in self.nodes])

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _parallel(jobs: list[Callable[[], None]]) -> None:
    """Run blocking jobs in threads and re-raise the first failure (JVM starts are slow)."""
    import threading  # noqa: PLC0415 - only the launcher's parallel steps need it

    errors: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        try:
            job()
        except BaseException as exc:  # noqa: BLE001 - collected and re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
