"""structlog, configured once per process in `main()`.

JSON lines on stdout in production (or when stdout is not a terminal), a coloured console
form in a terminal. aiohttp, aiokafka and other stdlib loggers go through the same processor
chain, so operators tail one shape. Event names are snake_case facts; data goes in keys.

structlog's own events do not pass through stdlib logging: its LogRecord, handler and
formatter round trip was the largest single cost of a gateway request (py-spy, bench
``http_overhead``). They are rendered by the chain below and written to the *current*
``sys.stdout`` directly. Loggers are cached on first use, so the chain they call is looked
up on each event: ``configure_logging`` may be called again (tests do) and every logger,
cached or not, follows the latest configuration.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any, Literal, TextIO

import msgspec
import structlog

_json = msgspec.json.Encoder(enc_hook=str)
_LEVELS = logging.getLevelNamesMapping()
# structlog method name -> stdlib level (``exception`` logs at ERROR).
_METHOD_LEVELS = {name.lower(): number for name, number in _LEVELS.items()} | {
    "exception": logging.ERROR,
    "msg": logging.INFO,
    "log": logging.INFO,
}


def _serialize(obj: object, **_: object) -> str:
    return _json.encode(obj).decode()


class _Chain:
    """The current processors of structlog-native events, swapped by ``configure_logging``."""

    def __init__(self) -> None:
        self.level = logging.INFO
        self.processors: list[structlog.types.Processor] = []
        self.stream: TextIO | None = None  # None: the current sys.stdout

    def __call__(
        self, logger: object, method: str, event: structlog.types.EventDict
    ) -> structlog.types.EventDict | str:
        if _METHOD_LEVELS.get(method, logging.CRITICAL) < self.level:
            raise structlog.DropEvent
        result: Any = event
        for processor in self.processors:
            result = processor(logger, method, result)
        return result  # type: ignore[no-any-return]


_CHAIN = _Chain()
_WRITE_LOCK = threading.Lock()


class _StdoutLogger:
    """Writes each rendered line to whatever ``sys.stdout`` is at the time of the event.

    A host that swaps stdout after start (test capture, a supervisor re-opening its pipe)
    would otherwise leave it writing to a closed file. Flushed per line, as stdlib's
    StreamHandler does, so a tail sees each line when it happens.
    """

    __slots__ = ("name",)

    def __init__(self, name: str | None = None) -> None:
        self.name = name or "root"

    def msg(self, line: str) -> None:
        with _WRITE_LOCK:
            out = _CHAIN.stream or sys.stdout
            out.write(line + "\n")
            out.flush()

    log = debug = info = warn = warning = error = critical = exception = fatal = msg


def _logger_factory(name: str | None = None, *_: object) -> _StdoutLogger:
    return _StdoutLogger(name)


def configure_logging(
    service: str,
    *,
    fmt: Literal["auto", "json", "console"] = "auto",
    level: str = "INFO",
    stream: TextIO | None = None,
) -> None:
    """Configure structlog and the stdlib root logger; callable again to reconfigure.

    Lines go to the current ``sys.stdout`` at the time of each line, or to ``stream`` when
    one is given (tests capturing the production shape).
    """
    console = fmt == "console" or (fmt == "auto" and sys.stdout.isatty())
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.stdlib.add_logger_name,  # a record's name, or _StdoutLogger.name
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_service(service),
    ]
    renderer: structlog.types.Processor = (
        structlog.dev.ConsoleRenderer(colors=True)
        if console
        else structlog.processors.JSONRenderer(serializer=_serialize)
    )
    _CHAIN.level = _LEVELS.get(level.upper(), logging.INFO)
    _CHAIN.stream = stream
    _CHAIN.processors = [
        *shared,
        structlog.processors.StackInfoRenderer(),
        *([] if console else [structlog.processors.format_exc_info]),
        renderer,
    ]
    structlog.configure(
        processors=[_CHAIN],
        logger_factory=_logger_factory,
        # No level filtering in the wrapper: the level lives in the chain, so a logger
        # cached before a reconfiguration still honours the new level.
        wrapper_class=structlog.make_filtering_bound_logger(logging.NOTSET),
        cache_logger_on_first_use=True,
    )
    # Stdlib loggers (aiohttp, aiokafka, asyncio) render through the same chain.
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *([] if console else [structlog.processors.format_exc_info]),
            renderer,
        ],
    )
    handler = _StdoutHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiohttp's access log duplicates our canonical request line; aiokafka is chatty at INFO.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, root.level))


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The stdlib side of ``_StdoutLogger``: writes to the current ``sys.stdout`` (or to
    the stream it was given)."""

    def __init__(self, stream: TextIO | None) -> None:
        super().__init__(stream)
        self._fixed = stream

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = self._fixed or sys.stdout
        super().emit(record)


def _add_service(service: str) -> structlog.types.Processor:
    def add(_: object, __: str, event: structlog.types.EventDict) -> structlog.types.EventDict:
        event.setdefault("service", service)
        return event

    return add


def get_logger(name: str | None = None) -> structlog.typing.FilteringBoundLogger:
    logger: structlog.typing.FilteringBoundLogger = structlog.get_logger(name)
    return logger
