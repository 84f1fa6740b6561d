"""Properties of the space-time index and of correlation (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.kinds.monitoring import CompassPoint
from services.monitoring import scenario
from services.monitoring.geo import distance_m, load_geo
from services.monitoring.grid import Grid
from services.monitoring.service import MonitoringService
from services.monitoring.settings import MonitoringSettings
from services.monitoring.worker import service_config

T0 = datetime(2026, 3, 14, tzinfo=UTC)
GEO = load_geo(Path(__file__).resolve().parents[2] / "deploy/geo/ceasefire-zones.geojson")

points = st.tuples(
    st.floats(min_value=-80.0, max_value=80.0),
    st.floats(min_value=-179.0, max_value=179.0),
    st.integers(min_value=0, max_value=100_000),
)


@settings(max_examples=60, deadline=None)
@given(
    entries=st.lists(points, min_size=1, max_size=40),
    probe=points,
    radius=st.floats(min_value=100.0, max_value=20_000.0),
)
def test_grid_never_misses_an_entry_within_radius_and_window(
    entries: list[tuple[float, float, int]], probe: tuple[float, float, int], radius: float
) -> None:
    window_s = 900.0
    grid = Grid(radius, window_s)
    for n, (lat, lon, t) in enumerate(entries):
        at = T0 + timedelta(seconds=t)
        grid.add(str(n), lat, lon, at, at + timedelta(seconds=60))
    plat, plon, pt = probe
    start = T0 + timedelta(seconds=pt)
    end = start + timedelta(seconds=60)
    found = grid.near(plat, plon, start, end)
    for n, (lat, lon, t) in enumerate(entries):
        gap = max(abs(t - pt) - 60, 0)
        if distance_m(lat, lon, plat, plon) <= radius * 0.999 and gap <= window_s:
            assert str(n) in found


def test_grid_remove_and_move() -> None:
    grid = Grid(1000.0, 900.0)
    grid.add("a", 48.0, 37.0, T0, T0)
    grid.add("a", 49.0, 37.0, T0, T0)  # re-adding moves it
    assert grid.near(48.0, 37.0, T0, T0) == set()
    assert grid.near(49.0, 37.0, T0, T0) == {"a"}
    grid.remove("a")
    assert len(grid) == 0


@settings(max_examples=25, deadline=None)
@given(
    bearings=st.lists(st.sampled_from(list(CompassPoint)), min_size=1, max_size=6),
    distances=st.lists(st.floats(min_value=2_000.0, max_value=6_000.0), min_size=6, max_size=6),
)
def test_corroboration_counts_distinct_observers_and_replay_changes_nothing(
    bearings: list[CompassPoint], distances: list[float]
) -> None:
    now = T0 + timedelta(days=1)
    service = MonitoringService(
        service_config(msgspec.convert({"correlation_radius_m": 3000.0}, MonitoringSettings)), GEO
    )
    reports = [
        scenario.report_envelope(
            f"desk{n}.mon",
            f"Team {n}",
            [
                scenario.heard(
                    "obs-1",
                    scenario.OUTSIDE_ZONE,
                    bearing=bearing,
                    distance_m=distances[n],
                    start=T0 + timedelta(minutes=n),
                )
            ],
            now=now,
        )
        for n, bearing in enumerate(bearings)
    ]
    for envelope in reports:
        service.handle_report(envelope, envelope.body, now)  # type: ignore[arg-type]
    records = list(service.correlator.incidents.values())
    assert sum(len(r.members) for r in records) == len(bearings)
    for record in records:
        assert record.incident.corroboration_count == len({m.observer for m in record.members})
    before = service.correlator.incidents
    for envelope in reports:
        assert service.handle_report(envelope, envelope.body, now) == []  # type: ignore[arg-type]
    assert service.correlator.incidents == before
