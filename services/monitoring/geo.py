"""Geometry on the WGS84 sphere, and the GeoJSON zones the monitoring rules read.

Distances use the haversine formula on a 6,371 km sphere: at ceasefire-line scales (a few
km) its error against the ellipsoid (< 0.5 %) is far below any observer's precision.
Point-in-polygon is ray casting in lon/lat degrees, adequate for zones tens of km across.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Struct

from schemas.kinds.monitoring import CompassPoint

EARTH_RADIUS_M = 6_371_008.8
# A 16-point bearing names a 22.5 degree sector: the true bearing is within +/- 11.25.
COMPASS_HALF_SECTOR_DEG = 11.25
_COMPASS_DEG = {point: index * 22.5 for index, point in enumerate(CompassPoint)}

OUTSIDE_AOR = "OUTSIDE_AOR"

Ring = tuple[tuple[float, float], ...]  # (lon, lat) pairs, GeoJSON order


def compass_degrees(point: CompassPoint) -> float:
    return _COMPASS_DEG[point]


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def destination(lat: float, lon: float, bearing_deg: float, dist_m: float) -> tuple[float, float]:
    """The point ``dist_m`` from (lat, lon) along the initial bearing (great circle)."""
    delta = dist_m / EARTH_RADIUS_M
    theta = math.radians(bearing_deg)
    p1, l1 = math.radians(lat), math.radians(lon)
    p2 = math.asin(
        math.sin(p1) * math.cos(delta) + math.cos(p1) * math.sin(delta) * math.cos(theta)
    )
    l2 = l1 + math.atan2(
        math.sin(theta) * math.sin(delta) * math.cos(p1),
        math.cos(delta) - math.sin(p1) * math.sin(p2),
    )
    return math.degrees(p2), (math.degrees(l2) + 540.0) % 360.0 - 180.0


def _in_ring(lon: float, lat: float, ring: Ring) -> bool:
    inside = False
    j = len(ring) - 1
    for i in range(len(ring)):
        xi, yi = ring[i]
        xj, yj = ring[j]
        if (yi > lat) != (yj > lat) and lon < (xj - xi) * (lat - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


class Zone(Struct, frozen=True, kw_only=True):
    """A polygon (outer ring, holes) or several; ``kind`` says which rule reads it."""

    name: str
    kind: Literal["withdrawal_zone", "area_of_responsibility"]
    polygons: tuple[tuple[Ring, ...], ...]  # each: outer ring then holes

    def contains(self, lat: float, lon: float) -> bool:
        for rings in self.polygons:
            if _in_ring(lon, lat, rings[0]) and not any(_in_ring(lon, lat, h) for h in rings[1:]):
                return True
        return False


class GeoConfig(Struct, frozen=True, kw_only=True):
    area_of_responsibility: tuple[Zone, ...]
    withdrawal_zones: tuple[Zone, ...]

    def in_area(self, lat: float, lon: float) -> bool:
        return any(zone.contains(lat, lon) for zone in self.area_of_responsibility)

    def withdrawal_zone_at(self, lat: float, lon: float) -> str | None:
        """The name of the first withdrawal zone containing the point, if any."""
        return next((z.name for z in self.withdrawal_zones if z.contains(lat, lon)), None)

    def region_at(self, lat: float, lon: float) -> str:
        """The summary region: the withdrawal zone, else the area of responsibility, else
        ``OUTSIDE_AOR`` (an incident centred between observers placed inside can fall out)."""
        return (
            self.withdrawal_zone_at(lat, lon)
            or next((z.name for z in self.area_of_responsibility if z.contains(lat, lon)), None)
            or OUTSIDE_AOR
        )


# --- GeoJSON input ------------------------------------------------------------------------

Coord = Annotated[list[float], Meta(min_length=2, max_length=3)]


class _Polygon(Struct, tag_field="type", tag="Polygon"):
    coordinates: list[Annotated[list[Coord], Meta(min_length=4)]]


class _MultiPolygon(Struct, tag_field="type", tag="MultiPolygon"):
    coordinates: list[list[Annotated[list[Coord], Meta(min_length=4)]]]


class _Properties(Struct):
    name: str
    kind: Literal["withdrawal_zone", "area_of_responsibility"]


class _Feature(Struct, tag_field="type", tag="Feature"):
    geometry: _Polygon | _MultiPolygon
    properties: _Properties


class _Collection(Struct, tag_field="type", tag="FeatureCollection"):
    features: list[_Feature]


class GeoConfigError(ValueError):
    """The GeoJSON zones file is unreadable or invalid; the message names the path."""


def _ring(coords: list[list[float]]) -> Ring:
    return tuple((c[0], c[1]) for c in coords)


def parse_geo(data: bytes) -> GeoConfig:
    collection = msgspec.json.decode(data, type=_Collection)
    aor: list[Zone] = []
    zones: list[Zone] = []
    for feature in collection.features:
        geometry = feature.geometry
        polys = [geometry.coordinates] if isinstance(geometry, _Polygon) else geometry.coordinates
        zone = Zone(
            name=feature.properties.name,
            kind=feature.properties.kind,
            polygons=tuple(tuple(_ring(r) for r in poly) for poly in polys),
        )
        (aor if zone.kind == "area_of_responsibility" else zones).append(zone)
    if not aor:
        raise GeoConfigError("no feature of kind area_of_responsibility")
    return GeoConfig(area_of_responsibility=tuple(aor), withdrawal_zones=tuple(zones))


def load_geo(path: Path) -> GeoConfig:
    try:
        return parse_geo(path.read_bytes())
    except (OSError, msgspec.DecodeError, GeoConfigError) as exc:
        raise GeoConfigError(f"{path}: {exc}") from exc
