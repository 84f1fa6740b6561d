"""Fix-ups that nudge generated raw data towards each struct's cross-field rules.

Each takes the raw JSON dict of one struct and returns it adjusted, so that most generated
values pass ``__post_init__`` instead of being filtered away (which would starve Hypothesis).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from schemas.common import Area
from schemas.kinds.commission import BreachCase, Determination
from schemas.kinds.control import Minimize
from schemas.kinds.monitoring import DistanceRange, Incident, MonitoringReport, Observation
from schemas.kinds.notifications import NonReceipt, OperationalAck
from schemas.kinds.summary import SummaryRow, ViolationSummary
from schemas.kinds.support import Consignment, RequestStatus, SupportRequest
from schemas.kinds.tasking import Personnel, TaskingOrder, TaskStatus

Raw = Any


def _dt(raw: str) -> datetime:
    return datetime.fromisoformat(raw)


def _fix_area(raw: Raw) -> Raw:
    if (raw.get("centre") is None) != (raw.get("radius_m") is None):
        raw["radius_m"] = None if raw.get("centre") is None else 1000.0
    if 0 < len(raw.get("polygon", ())) < 3:
        raw["polygon"] = []
    return raw


def _fix_incident(raw: Raw) -> Raw:
    raw["corroboration_count"] = min(raw["corroboration_count"], len(raw["observations"]))
    if raw.get("referred_case_id") is not None:
        raw["status"] = "REFERRED"
    elif raw.get("status") == "REFERRED":
        raw["status"] = "CONFIRMED"
    return raw


def _fix_case(raw: Raw) -> Raw:
    if _dt(raw["updated_at"]) < _dt(raw["opened_at"]):
        raw["updated_at"], raw["opened_at"] = raw["opened_at"], raw["updated_at"]
    if raw.get("merged_into") is not None:
        raw["state"] = "MERGED"
    elif raw["state"] == "MERGED":
        raw["state"] = "CLOSED"
    return raw


def _fix_determination(raw: Raw) -> Raw:
    if any(a["responsibility"] == "RESPONSIBLE" for a in raw.get("attributions", ())):
        raw["outcome"] = "VIOLATION_CONFIRMED"
    return raw


def _fix_request(raw: Raw) -> Raw:
    draw = raw["request_kind"] == "DEPOT_DRAW"
    raw["depot"] = "Depot Rzeszow-North" if draw else None
    raw["activating_alert"] = str(uuid.UUID(int=7)) if draw else None
    return raw


def _fix_consignment(raw: Raw) -> Raw:
    shipped = raw["status"] != "PREPARING"
    raw["dispatched_at"] = "2026-03-01T08:00:00Z" if shipped else None
    raw["received_at"] = "2026-03-03T08:00:00Z" if raw["status"] == "RECEIVED" else None
    return raw


def _fix_order(raw: Raw) -> Raw:
    if raw["order_type"] == "FRAGO":
        raw["base_order_id"] = raw.get("base_order_id") or "opord-001"
        raw["change_number"] = raw.get("change_number") or 1
        if not raw.get("tasks") and not raw.get("cancelled_task_ids"):
            raw["cancelled_task_ids"] = ["T9"]
    else:
        raw["base_order_id"] = raw["change_number"] = None
        raw["cancelled_task_ids"] = []
    return raw


def _needs(field: str, value: object, when: Callable[[Raw], bool]) -> Callable[[Raw], Raw]:
    def fix(raw: Raw) -> Raw:
        if when(raw) and not str(raw.get(field) or "").strip():
            raw[field] = value
        elif not when(raw) and field in {"alleged_by", "superseded_by", "until"}:
            raw[field] = None
        return raw

    return fix


def _fix_personnel(raw: Raw) -> Raw:
    raw["available"] = min(raw["available"], raw["assigned"])
    return raw


def _fix_distance(raw: Raw) -> Raw:
    raw["min_m"], raw["max_m"] = sorted([raw["min_m"], raw["max_m"]])
    return raw


def _fix_report(raw: Raw) -> Raw:
    if not raw.get("observations"):
        raw["report_type"] = "DAILY"
    return raw


def _fix_summary_row(raw: Raw) -> Raw:
    raw["delta"] = raw["count"] - raw["previous_count"]
    return raw


def _fix_summary(raw: Raw) -> Raw:
    names = ("previous_start", "previous_end", "period_start", "period_end")
    moments = sorted((raw[name] for name in names), key=_dt)
    raw.update(zip(names, moments, strict=True))
    raw["total"] = sum(row["count"] for row in raw.get("rows", ()))
    raw["previous_total"] = sum(row["previous_count"] for row in raw.get("rows", ()))
    raw["total_delta"] = raw["total"] - raw["previous_total"]
    return raw


def _fix_status(raw: Raw) -> Raw:
    if raw.get("request") is not None:
        raw["request"]["request_id"] = raw["request_id"]
    return raw


FIXUPS: dict[type, Callable[[Raw], Raw]] = {
    Area: _fix_area,
    Incident: _fix_incident,
    BreachCase: _fix_case,
    Determination: _fix_determination,
    SupportRequest: _fix_request,
    Consignment: _fix_consignment,
    TaskingOrder: _fix_order,
    TaskStatus: _needs("reason", "weather below limits", lambda _: True),
    OperationalAck: _needs(
        "reason", "aircraft grounded", lambda r: r["response"] == "CANNOT_COMPLY"
    ),
    Observation: _needs("alleged_by", None, lambda r: bool(r.get("allegation"))),
    NonReceipt: _needs(
        "superseded_by", str(uuid.UUID(int=9)), lambda r: r["reason"] == "SUPERSEDED"
    ),
    Minimize: _needs("until", None, lambda r: r["status"] == "IMPOSED"),
    Personnel: _fix_personnel,
    DistanceRange: _fix_distance,
    MonitoringReport: _fix_report,
    SummaryRow: _fix_summary_row,
    ViolationSummary: _fix_summary,
    RequestStatus: _fix_status,
}
