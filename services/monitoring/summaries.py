"""Sending the violations summary as the service desk: scheduled, or asked for by a desk.

The counts come from ``summary``; this module decides who gets them, under which label and
id. The scheduled summary goes to the configured addressees at ROUTINE, its id derived from
its period's end. An on-demand summary answers its requester only, at the request's
precedence (never FLASH), its id derived from the request's, so a replayed request is the
same message. Requests from desks without WATCH or COMMISSION, for a period in the future or
older than the incidents kept in memory are refused with the reason.

The label is never lower than any incident counted (the figures reveal the incidents exist)
and releasable only to the addressees' nations: the rule of every derived product of the
service (``labelling.combine``). An addressee whose nation a source did not release to gets
a non-delivery report from the router, not a summary stripped of that source.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from msgspec import Struct

from schemas.common import TrafficType
from schemas.desks import DeskRegistry
from schemas.envelope import Envelope
from schemas.kinds.notifications import ActionRejected, RejectionCode
from schemas.kinds.summary import SummaryRequest, SummaryTrigger, ViolationSummary
from schemas.precedence import Precedence
from schemas.roles import Role
from services.monitoring import summary
from services.monitoring.geo import GeoConfig
from services.monitoring.records import IncidentRecord
from services.runtime import ids as runtime_ids
from services.runtime.logging import get_logger
from services.runtime.outbox import Output, ServiceDesk

log = get_logger(__name__)
REQUESTER_ROLES = frozenset({Role.WATCH, Role.COMMISSION})


class SummaryPolicy(Struct, frozen=True, kw_only=True):
    addressees: tuple[str, ...]
    horizon: timedelta  # incidents kept in memory, back from now
    clock_skew_s: float
    fallback_nation: str


class SummaryDesk:
    def __init__(
        self,
        desk: ServiceDesk,
        geo: GeoConfig,
        policy: SummaryPolicy,
        registry: DeskRegistry | None,
    ) -> None:
        self.desk, self.geo, self.policy, self.registry = desk, geo, policy, registry

    def _nations(self, addresses: Iterable[str]) -> set[str]:
        if self.registry is None:
            return set()
        return {desk.nation for a in addresses for desk in self.registry.expand(a)}

    def scheduled(
        self, records: Iterable[IncidentRecord], period_end: datetime, now: datetime
    ) -> Output:
        counted = summary.count(
            records, period_end=period_end, traffic_type=TrafficType.OPERATION, geo=self.geo
        )
        body = summary.summary_body(
            counted,
            summary_id=summary.scheduled_id(period_end),
            trigger=SummaryTrigger.SCHEDULED,
            period_end=period_end,
            now=now,
        )
        floor = summary.floor_label(
            self._nations(self.policy.addressees),
            now,
            fallback_nation=self.policy.fallback_nation,
        )
        envelope = self.desk.envelope(
            body,
            message_id=runtime_ids.message_id("summary", period_end.isoformat()),
            action_to=self.policy.addressees,
            label=summary.summary_label(
                counted, floor, fallback_nation=self.policy.fallback_nation
            ),
            subject=summary.subject(body),
            precedence=Precedence.ROUTINE,
            traffic_type=TrafficType.OPERATION,
            now=now,
            correlation_id=body.summary_id,
        )
        self._log(envelope, body, counted.incidents)
        return self.desk.submit(envelope)

    def on_demand(
        self,
        envelope: Envelope,
        request: SummaryRequest,
        records: Iterable[IncidentRecord],
        now: datetime,
    ) -> Output:
        requester = self.registry.get(envelope.originator) if self.registry else None
        if requester is None or not REQUESTER_ROLES & requester.roles:
            return self._refuse(
                envelope,
                RejectionCode.NOT_AUTHORISED,
                "only WATCH or COMMISSION desks may ask for a violations summary",
                now,
            )
        end = request.period_end or envelope.released_at
        if (end - now).total_seconds() > self.policy.clock_skew_s:
            return self._refuse(
                envelope, RejectionCode.IMPLAUSIBLE_DATA, "`period_end` is in the future", now
            )
        if end - 2 * summary.PERIOD < now - self.policy.horizon:
            hours = self.policy.horizon.total_seconds() / 3600 - 48
            detail = f"`period_end` is more than {hours:.0f} h ago: incidents that old are kept "
            detail += "on the incidents topic only, not in the service's index"
            return self._refuse(envelope, RejectionCode.IMPLAUSIBLE_DATA, detail, now)
        counted = summary.count(
            records, period_end=end, traffic_type=envelope.traffic_type, geo=self.geo
        )
        body = summary.summary_body(
            counted,
            summary_id=f"sum-req-{envelope.message_id.hex[:16]}",
            trigger=SummaryTrigger.ON_DEMAND,
            period_end=end,
            now=now,
        )
        floor = summary.floor_label(
            [requester.nation], now, fallback_nation=self.policy.fallback_nation
        )
        answer = self.desk.envelope(
            body,
            message_id=runtime_ids.message_id("summary-on-demand", str(envelope.message_id)),
            action_to=(envelope.originator,),
            label=summary.summary_label(
                counted, floor, fallback_nation=self.policy.fallback_nation
            ),
            subject=summary.subject(body),
            precedence=min(envelope.primary_precedence, Precedence.IMMEDIATE, key=_rank),
            traffic_type=envelope.traffic_type,
            now=now,
            in_reply_to=envelope.message_id,
            correlation_id=body.summary_id,
        )
        self._log(answer, body, counted.incidents)
        return self.desk.submit(answer)

    def _log(self, envelope: Envelope, body: ViolationSummary, incidents: int) -> None:
        log.info(
            "summary_sent",
            message_id=str(envelope.message_id),
            summary_id=body.summary_id,
            trigger=body.trigger.value,
            period_end=body.period_end.isoformat(),
            to=list(envelope.action_to),
            total=body.total,
            previous_total=body.previous_total,
            incidents=incidents,
            rows=len(body.rows),
        )

    def _refuse(
        self, envelope: Envelope, code: RejectionCode, detail: str, now: datetime
    ) -> Output:
        log.info(
            "summary_request_refused",
            message_id=str(envelope.message_id),
            originator=envelope.originator,
            code=code.value,
            detail=detail,
        )
        body = ActionRejected(
            subject_message_id=envelope.message_id,
            code=code,
            detail=detail,
            occurred_at=now,
        )
        refusal = self.desk.envelope(
            body,
            message_id=runtime_ids.message_id("rejected", str(envelope.message_id)),
            action_to=(envelope.originator,),
            label=envelope.label,
            subject="Violations summary request refused",
            precedence=min(envelope.primary_precedence, Precedence.IMMEDIATE, key=_rank),
            traffic_type=envelope.traffic_type,
            now=now,
            in_reply_to=envelope.message_id,
        )
        return self.desk.submit(refusal)


def _rank(precedence: Precedence) -> int:
    return precedence.rank
