"""The shape of ``bench/results/latest.json``: one entry per scenario, both arms and the ratio."""

from __future__ import annotations

from typing import Literal

from msgspec import Struct, field

from bench.profile import Profile
from bench.stats import Latency, Spread

Status = Literal["ok", "not_run", "failed"]


class Arm(Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One side of a comparison: its figure per repeat, and what else was measured."""

    label: str
    unit: str
    rate: Spread | None = None  # per-repeat throughput (unit/s)
    latency: Latency | None = None  # all samples of the median repeat's arm
    latencies: tuple[Latency, ...] = ()  # one per repeat
    cpu: dict[str, float] = field(default_factory=dict)  # process -> CPU share (1.0 = a core)
    notes: dict[str, float | int | str] = field(default_factory=dict)


class Target(Struct, frozen=True, kw_only=True):
    op: Literal[">=", "<="] | None  # None: reported, no target
    value: float | None = None

    def met(self, ratio: float) -> bool | None:
        if self.op is None or self.value is None:
            return None
        return ratio >= self.value if self.op == ">=" else ratio <= self.value

    def render(self) -> str:
        if self.op is None or self.value is None:
            return "reported, no target"
        return f"{'≥' if self.op == '>=' else '≤'} {self.value:g}"


class Scenario(Struct, frozen=True, kw_only=True, omit_defaults=True):
    key: str
    title: str
    status: Status
    ratio_definition: str
    target: Target
    ratio: Spread | None = None
    met: bool | None = None
    ours: Arm | None = None
    baseline: Arm | None = None
    settings: dict[str, object] = field(default_factory=dict)
    rows: tuple[dict[str, object], ...] = ()  # per-item detail (e.g. per body kind)
    bound: str = ""
    profile: Profile | None = None  # py-spy of the server under test, where one was taken
    reason: str = ""  # why not run, or the error of a failed run
    seconds: float = 0.0


class Run(Struct, frozen=True, kw_only=True):
    date: str
    quick: bool
    duration_s: float
    machine: dict[str, object]
    versions: dict[str, str]
    settings: dict[str, object]
    scenarios: dict[str, Scenario]
