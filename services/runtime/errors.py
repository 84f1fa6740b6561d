"""The small, classified error hierarchy every service shares.

Each error has a stable `code` (API clients and dashboards key on it), an HTTP `status` for the
gateway's problem+json middleware, and `retriable`, which tells a caller whether trying the
same thing again later can succeed (the aiokafka convention).
"""

from __future__ import annotations

from typing import ClassVar


class CellError(Exception):
    code: ClassVar[str] = "internal"
    status: ClassVar[int] = 500
    retriable: ClassVar[bool] = False

    def __init__(self, message: str, *, field_path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field_path = field_path


class InvalidInput(CellError):
    """The input can never succeed as sent (decode, validation, domain rule)."""

    code = "invalid_input"
    status = 422


class NotAuthorised(CellError):
    code = "forbidden"
    status = 403


class Conflict(CellError):
    code = "conflict"
    status = 409


class BrokerUnavailable(CellError):
    """Kafka did not take or give data within the deadline; try again later."""

    code = "broker_unavailable"
    status = 503
    retriable = True


class ConfigurationError(CellError):
    """Bad settings: stop at once, retrying cannot help (unlike a broker that is not up yet)."""

    code = "configuration"
