"""The desk a domain service signs with, checked against the desk registry at start."""

from __future__ import annotations

from pathlib import Path

from schemas.desks import DeskRegistry, RegistryError, load_registry
from schemas.roles import Role
from services.runtime.errors import ConfigurationError
from services.runtime.outbox import ServiceDesk


def service_desk(
    desk_id: str, *, desks_file: str, prefix: str, registry: DeskRegistry | None = None
) -> tuple[ServiceDesk, DeskRegistry]:
    """The registry and the service's desk; bad configuration fails at once.

    A service whose desk is missing or lacks SERVICE would have every message refused by
    the router, so that is a configuration error, not something to find out in production.
    """
    try:
        desks = registry if registry is not None else load_registry(Path(desks_file))
    except RegistryError as exc:
        raise ConfigurationError(str(exc)) from exc
    desk = desks.get(desk_id)
    if desk is None or Role.SERVICE not in desk.roles:
        raise ConfigurationError(f"service desk {desk_id!r} is not a SERVICE desk of the registry")
    flash = Role.FLASH in desk.roles
    return ServiceDesk(desk_id=desk_id, prefix=prefix, flash=flash), desks
