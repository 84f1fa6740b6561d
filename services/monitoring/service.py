"""The monitoring service's decisions for one consumed record, as outputs: no Kafka here.

A report is checked (impossible observations refused with reasons), its accepted
observations correlated, every changed incident snapshotted on the state topic, a breach
case opened (a ``REGISTER_ALLEGATION`` case action to COMMISSION, as the service desk) for
each incident whose breach rule matched for the first time, and refusals returned to the
sender as ``ActionRejected``. Undecodable records are dead-lettered. Handling is idempotent:
seen observations change nothing, and every message sent has a derived id.

The daily violations summary (``summary``) goes to the configured desks at the configured
UTC time, with a mark on the state topic in the same transaction, and to a WATCH or
COMMISSION desk that asks for one. Each tick also forgets incidents past the horizon: memory
stays bounded, the topic keeps them, and observations that old are refused.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from msgspec import Struct

from schemas import codec
from schemas.desks import DeskRegistry
from schemas.envelope import Envelope
from schemas.kinds.commission_actions import CaseAction, RegisterAllegation
from schemas.kinds.monitoring import MonitoringReport
from schemas.kinds.notifications import ActionRejected, RejectionCode
from schemas.kinds.summary import SummaryRequest
from schemas.precedence import Precedence
from schemas.topics import state_topic
from services.monitoring import ids, summary
from services.monitoring.correlate import (
    CorrelationConfig,
    Correlator,
    Outcome,
    locate,
    origin_zone,
)
from services.monitoring.geo import GeoConfig
from services.monitoring.records import (
    SUMMARY_MARK_KEY,
    IncidentRecord,
    Member,
    SummaryMark,
    decode_mark,
    decode_record,
    encode_mark,
    encode_record,
)
from services.monitoring.summaries import SummaryDesk, SummaryPolicy
from services.monitoring.validate import Checked, Limits, Refusal, check_report
from services.runtime import ids as runtime_ids
from services.runtime.deadletter import SourceRecord
from services.runtime.intake import foreign_kind
from services.runtime.logging import get_logger
from services.runtime.outbox import Output, ServiceDesk

log = get_logger(__name__)
SERVICE = "monitoring"


class ServiceConfig(Struct, frozen=True, kw_only=True):
    """Derived from ``MonitoringSettings`` by ``worker.service_config``: no default here."""

    desk: ServiceDesk
    correlation: CorrelationConfig
    limits: Limits
    parties: tuple[str, ...]
    summary_at: time  # UTC
    summary_to: tuple[str, ...]
    horizon: timedelta


class MonitoringService:
    """``registry``: who may ask for a summary, and the addressees' nations (None: nobody).
    ``started``: the session's start; incidents past the horizon then are not loaded."""

    def __init__(
        self,
        config: ServiceConfig,
        geo: GeoConfig,
        *,
        registry: DeskRegistry | None = None,
        started: datetime | None = None,
    ) -> None:
        self.config, self.geo = config, geo
        self.correlator = Correlator(config.correlation, geo)
        policy = SummaryPolicy(
            addressees=config.summary_to,
            horizon=config.horizon,
            clock_skew_s=config.limits.clock_skew_s,
            fallback_nation=config.correlation.fallback_nation,
        )
        self.summaries = SummaryDesk(config.desk, geo, policy, registry)
        self.state_topic = state_topic("incidents", prefix=config.desk.prefix)
        self.summary_sent_until: datetime | None = None  # end of the last scheduled period
        self._load_cutoff = self._cutoff(started) if started is not None else None

    # --- state ----------------------------------------------------------------------------

    def load(self, key: bytes, value: bytes | None) -> None:
        if key == SUMMARY_MARK_KEY:
            self.summary_sent_until = None if value is None else decode_mark(value).period_end
        elif value is not None:
            self.correlator.load(decode_record(value), cutoff=self._load_cutoff)

    def _cutoff(self, now: datetime) -> datetime:
        """Incidents that ended before this cannot match an observation accepted now."""
        return now - self.config.horizon - timedelta(seconds=self.config.correlation.window_s)

    def tick(self, now: datetime) -> list[Output]:
        forgotten = self.correlator.trim(self._cutoff(now))
        if forgotten:
            log.info("incidents_forgotten", count=forgotten, kept=len(self.correlator))
        due = summary.due_period_end(now, self.config.summary_at)
        if self.summary_sent_until is not None and due <= self.summary_sent_until:
            return []
        first = self.summary_sent_until is None
        self.summary_sent_until = due  # a failed commit drops this handler: no stale mark
        mark = Output(
            topic=self.state_topic,
            key=SUMMARY_MARK_KEY,
            value=encode_mark(SummaryMark(period_end=due)),
        )
        if first:
            # First run on this state topic: the schedule starts with the next period (no
            # summary for a day the service did not watch); the mark makes that durable.
            log.info("summary_schedule_started", period_end=due.isoformat())
            return [mark]
        return [self.summaries.scheduled(self._records(), due, now), mark]

    def _records(self) -> list[IncidentRecord]:
        return list(self.correlator.incidents.values())

    # --- records --------------------------------------------------------------------------

    def handle(self, record: SourceRecord, now: datetime) -> list[Output]:
        try:
            if record.value is None:
                raise codec.DecodeError("record has no value")  # noqa: TRY301 - one poison path
            envelope = codec.decode(record.value)
        except (codec.DecodeError, ValueError) as exc:
            log.warning(
                "record_dead_lettered",
                reason="undecodable",
                error=str(exc),
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
            )
            return [
                self.config.desk.dead_letter(
                    record, reason="undecodable", error=str(exc), service=SERVICE
                )
            ]
        if (
            letter := foreign_kind(record, envelope, self.config.desk, service=SERVICE)
        ) is not None:
            return [letter]
        if isinstance(envelope.body, SummaryRequest):
            return [self.summaries.on_demand(envelope, envelope.body, self._records(), now)]
        if not isinstance(envelope.body, MonitoringReport):
            log.info("record_ignored", message_id=str(envelope.message_id), kind=envelope.kind)
            return []
        return self.handle_report(envelope, envelope.body, now, record=record)

    def handle_report(
        self,
        envelope: Envelope,
        report: MonitoringReport,
        now: datetime,
        *,
        record: SourceRecord | None = None,
    ) -> list[Output]:
        accepted, refused = check_report(report, now=now, geo=self.geo, limits=self.config.limits)
        oldest = now - self.config.horizon
        if any(c.window.start < oldest for c in accepted):
            hours = self.config.horizon.total_seconds() / 3600
            reason = f"observation began more than {hours:.0f} h ago (the correlation horizon)"
            refused += [
                Refusal(observation_id=c.observation.observation_id, reason=reason)
                for c in accepted
                if c.window.start < oldest
            ]
            accepted = [c for c in accepted if c.window.start >= oldest]
        changed: dict[str, IncidentRecord] = {}
        opened: list[IncidentRecord] = []
        outcomes: dict[str, int] = {}
        for checked in accepted:
            placement = self.correlator.place(
                self._member(envelope, report, checked), envelope.label
            )
            outcomes[placement.outcome.value] = outcomes.get(placement.outcome.value, 0) + 1
            if placement.record is not None:
                changed[placement.incident_id] = placement.record
            if placement.case_opened and placement.record is not None:
                opened.append(placement.record)
        outputs = [
            Output(topic=self.state_topic, key=key.encode(), value=encode_record(value))
            for key, value in changed.items()
        ]
        # The case opening follows the final snapshot of its incident in this report.
        outputs += [
            self.config.desk.submit(self._case_opening(changed[r.incident_id], now)) for r in opened
        ]
        if refused:
            outputs.append(self.config.desk.submit(self._rejection(envelope, report, refused, now)))
        log.info(
            "report_processed",
            message_id=str(envelope.message_id),
            originator=envelope.originator,
            report_id=report.report_id,
            observations=len(report.observations),
            refused=len(refused),
            new=outcomes.get(Outcome.NEW.value, 0),
            joined=outcomes.get(Outcome.JOINED.value, 0),
            duplicates=outcomes.get(Outcome.DUPLICATE.value, 0),
            near_duplicates=outcomes.get(Outcome.NEAR_DUPLICATE.value, 0),
            incidents=sorted(changed),
            cases_opened=[r.incident.referred_case_id for r in opened],
            topic=record.topic if record else None,
            partition=record.partition if record else None,
            offset=record.offset if record else None,
        )
        return outputs

    def _member(self, envelope: Envelope, report: MonitoringReport, checked: Checked) -> Member:
        obs, window = checked.observation, checked.window
        lat, lon, uncertainty = locate(obs, self.config.correlation.unlocated_uncertainty_m)
        return Member(
            report_message_id=envelope.message_id,
            observation_id=obs.observation_id,
            report_id=report.report_id,
            originator=envelope.originator,
            observer=f"{envelope.originator}/{report.team}",
            traffic_type=envelope.traffic_type,
            event_type=obs.event_type,
            weapon=obs.weapon,
            lat=lat,
            lon=lon,
            uncertainty_m=uncertainty,
            start=window.start,
            end=window.end,
            source_zone=window.source_zone,
            casualties=obs.casualties,
            allegation=obs.allegation,
            origin_zone=origin_zone(obs, self.geo),
        )

    def _case_opening(self, record: IncidentRecord, now: datetime) -> Envelope:
        incident = record.incident
        case_id = incident.referred_case_id or ids.case_id(incident.incident_id)
        where = f"{incident.location.lat:.4f},{incident.location.lon:.4f}"
        title = f"{incident.event_type.value} at {where}, {incident.window.start:%d %b %Y %H:%MZ}"
        summary = (
            f"Incident {incident.incident_id}: {incident.assessment}. "
            f"Severity {incident.severity.value}; {len(incident.observations)} observation(s); "
            f"window {incident.window.start.isoformat()} to {incident.window.end.isoformat()}"
            + (f"; withdrawal zone {record.withdrawal_zone}" if record.withdrawal_zone else "")
            + "."
        )
        action = CaseAction(
            case_id=case_id,
            command=RegisterAllegation(
                title=title,
                incident_ids=(incident.incident_id,),
                alleged_by=None,
                respondents=self.config.parties,
                summary=summary,
            ),
            rationale="Opened by the monitoring mechanism: " + ", ".join(record.breach_rules),
        )
        return self.config.desk.envelope(
            action,
            message_id=runtime_ids.message_id("case-open", case_id),
            action_to=("COMMISSION",),
            label=record.label,
            subject=f"BREACH CASE {case_id}: {title}",
            precedence=Precedence.IMMEDIATE,
            traffic_type=record.traffic_type,
            now=now,
            references=[m.report_message_id for m in record.members],
            correlation_id=case_id,
        )

    def _rejection(
        self, envelope: Envelope, report: MonitoringReport, refused: list[Refusal], now: datetime
    ) -> Envelope:
        detail = (
            f"{len(refused)} of {len(report.observations)} observation(s) refused: "
            + "; ".join(r.render() for r in refused)
        )
        body = ActionRejected(
            subject_message_id=envelope.message_id,
            code=RejectionCode.IMPLAUSIBLE_DATA,  # the detail carries each reason
            entity_id=report.report_id,
            detail=detail[:1000],
            occurred_at=now,
        )
        return self.config.desk.envelope(
            body,
            message_id=runtime_ids.message_id("rejected", str(envelope.message_id)),
            action_to=(envelope.originator,),
            label=envelope.label,
            subject=f"Observations refused in report {report.report_id}",
            precedence=envelope.primary_precedence,
            traffic_type=envelope.traffic_type,
            now=now,
            in_reply_to=envelope.message_id,
            correlation_id=report.report_id,
        )
