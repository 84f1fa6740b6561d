"""A space-time bucket index: candidates near a point and time without an all-pairs scan.

Space is cut into rows of ``cell_m`` of latitude; each row into columns of ``cell_m`` of
longitude at the row's pole-side edge (so a column is never narrower than ``cell_m``). Time
is cut into buckets of ``window_s``. An entry is indexed under its spatial cell and every time
bucket its window spans; a query reads only the cells within ``cell_m`` of the point (the
3 x 3 neighbourhood, a little more near the poles) and the buckets within ``window_s`` of its
window. With the match tolerance at most ``cell_m`` and ``window_s``, nothing is missed.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime

_M_PER_DEG_LAT = 111_320.0
_MAX_LAT = 89.0

Key = tuple[int, int, int]


class Grid:
    def __init__(self, cell_m: float, window_s: float) -> None:
        if cell_m <= 0 or window_s <= 0:
            raise ValueError("cell size and time window must be positive")
        self.dlat = cell_m / _M_PER_DEG_LAT
        self.window_s = window_s
        self._cells: dict[Key, set[str]] = defaultdict(set)
        self._keys: dict[str, list[Key]] = {}

    def _row(self, lat: float) -> int:
        return math.floor(lat / self.dlat)

    def _dlon(self, row: int) -> float:
        edge = min(_MAX_LAT, max(abs(row * self.dlat), abs((row + 1) * self.dlat)))
        return self.dlat / math.cos(math.radians(edge))

    def _bucket(self, at: datetime) -> int:
        return math.floor(at.timestamp() / self.window_s)

    def _buckets(self, start: datetime, end: datetime) -> range:
        return range(self._bucket(start), self._bucket(end) + 1)

    def add(self, entry: str, lat: float, lon: float, start: datetime, end: datetime) -> None:
        self.remove(entry)
        row = self._row(lat)
        col = math.floor(lon / self._dlon(row))
        keys = [(row, col, b) for b in self._buckets(start, end)]
        for key in keys:
            self._cells[key].add(entry)
        self._keys[entry] = keys

    def remove(self, entry: str) -> None:
        for key in self._keys.pop(entry, ()):
            cell = self._cells[key]
            cell.discard(entry)
            if not cell:
                del self._cells[key]

    def _spatial(self, lat: float, lon: float) -> Iterator[tuple[int, int]]:
        lo, hi = lat - self.dlat, lat + self.dlat
        edge = min(_MAX_LAT, max(abs(lo), abs(hi)))
        half_lon = self.dlat / math.cos(math.radians(edge))
        for row in range(self._row(lo), self._row(hi) + 1):
            dlon = self._dlon(row)
            for col in range(
                math.floor((lon - half_lon) / dlon), math.floor((lon + half_lon) / dlon) + 1
            ):
                yield row, col

    def near(self, lat: float, lon: float, start: datetime, end: datetime) -> set[str]:
        """Entries whose cell is within ``cell_m`` and whose window is within ``window_s``."""
        first = math.floor((start.timestamp() - self.window_s) / self.window_s)
        last = math.floor((end.timestamp() + self.window_s) / self.window_s)
        found: set[str] = set()
        for row, col in self._spatial(lat, lon):
            for bucket in range(first, last + 1):
                cell = self._cells.get((row, col, bucket))
                if cell:
                    found |= cell
        return found

    def __len__(self) -> int:
        return len(self._keys)
