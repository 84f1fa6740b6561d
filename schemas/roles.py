"""Desk roles; each gates actions (DOMAIN §2)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    WATCH = "WATCH"  # cell watch officer: escalations, MINIMIZE, attack alerts
    COMMISSION = "COMMISSION"  # Special Commission member
    FORCE_HQ = "FORCE_HQ"  # issues tasking orders
    REQUESTER = "REQUESTER"  # UKR desks filing support requests
    DONOR = "DONOR"  # desks that pledge offers
    MONITOR = "MONITOR"  # files monitoring reports
    FLASH = "FLASH"  # may originate FLASH precedence
    SERVICE = "SERVICE"  # a cell service acting as a desk (router, domain services)
