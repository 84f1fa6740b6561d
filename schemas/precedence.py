"""Precedence (ACP 121 / STANAG 4406): how fast, not how important.

The wire value is the name. Never compare members with ``<``: they are ``str`` and would
compare alphabetically; compare ``.rank`` instead.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum


class Precedence(StrEnum):
    FLASH = "FLASH"
    IMMEDIATE = "IMMEDIATE"
    PRIORITY = "PRIORITY"
    ROUTINE = "ROUTINE"

    @property
    def rank(self) -> int:
        """4 for FLASH down to 1 for ROUTINE; higher is handled first."""
        return _RANK[self]

    @property
    def prosign(self) -> str:
        return _PROSIGN[self]

    @property
    def handling_target(self) -> timedelta:
        """Writer-to-reader speed of service (DOMAIN §3); the cell alarms at half of it."""
        return _TARGET[self]

    @property
    def lane(self) -> str:
        """Topic lane name, e.g. ``flash`` in ``cell.submit.flash``."""
        return self.value.lower()

    @classmethod
    def from_lane(cls, lane: str) -> Precedence:
        return cls(lane.upper())

    @classmethod
    def from_rank(cls, rank: int) -> Precedence:
        for precedence in cls:
            if precedence.rank == rank:
                return precedence
        raise ValueError(f"no precedence has rank {rank}")


_RANK = {
    Precedence.FLASH: 4,
    Precedence.IMMEDIATE: 3,
    Precedence.PRIORITY: 2,
    Precedence.ROUTINE: 1,
}
_PROSIGN = {
    Precedence.FLASH: "Z",
    Precedence.IMMEDIATE: "O",
    Precedence.PRIORITY: "P",
    Precedence.ROUTINE: "R",
}
_TARGET = {
    Precedence.FLASH: timedelta(minutes=10),
    Precedence.IMMEDIATE: timedelta(minutes=30),
    Precedence.PRIORITY: timedelta(hours=3),
    Precedence.ROUTINE: timedelta(hours=6),
}

LANES_HIGH_FIRST: tuple[Precedence, ...] = tuple(
    sorted(Precedence, key=lambda p: p.rank, reverse=True)
)
