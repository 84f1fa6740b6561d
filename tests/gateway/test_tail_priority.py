"""The inbox tail takes a batch highest lane first: a FLASH fetched along with a ROUTINE
backlog wakes its desk before the backlog is decoded."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import pytest
from gateway_registry import GATEWAY_DESKS
from inbox_support import envelope, router_stand_in

from schemas import topics
from schemas.precedence import Precedence
from services.gateway.inbox.lanes import InboxRecord
from services.gateway.inbox.store import InboxStore
from services.gateway.inbox.tail import run_tail
from services.runtime.provision import provision
from services.runtime.settings import CommonSettings

pytestmark = pytest.mark.integration

BACKLOG = 300
DESK = "ukr.gs"


class _RecordingStore(InboxStore):
    """The real store, noting the order of appends and wake-ups."""

    def __init__(self, settings: CommonSettings) -> None:
        super().__init__(
            GATEWAY_DESKS, prefix=settings.topic_prefix, max_records=1_000, max_bytes=16 << 20
        )
        self.events: list[tuple[str, str]] = []

    def append(self, topic: str, record: InboxRecord) -> None:
        super().append(topic, record)
        self.events.append(("append", record.lane.value))

    def notify(self, desk_id: str) -> None:
        super().notify(desk_id)
        self.events.append(("notify", desk_id))


async def test_flash_wakes_its_desk_before_the_routine_backlog_is_decoded(
    kafka_bootstrap: str,
) -> None:
    settings = CommonSettings(
        kafka_bootstrap=kafka_bootstrap, topic_prefix=f"t{uuid.uuid4().hex[:8]}."
    )
    report = await provision(
        kafka_bootstrap, topics.registry(GATEWAY_DESKS, prefix=settings.topic_prefix)
    )
    assert report.ok
    async with router_stand_in(settings, GATEWAY_DESKS) as router:
        await router.deliver(DESK, [envelope(to=(DESK,)) for _ in range(BACKLOG)])
        await router.deliver(DESK, [envelope(to=(DESK,), precedence=Precedence.FLASH)])
    store = _RecordingStore(settings)
    ready = asyncio.Event()
    tail = asyncio.create_task(run_tail(settings, store, ready))
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while sum(kind == "append" for kind, _ in store.events) < BACKLOG + 1:
            assert loop.time() < deadline, f"{len(store.events)} events only"
            await asyncio.sleep(0.05)
    finally:
        tail.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tail
    appends = [lane for kind, lane in store.events if kind == "append"]
    assert appends.count(Precedence.FLASH.value) == 1
    assert appends.count(Precedence.ROUTINE.value) == BACKLOG
    first_routine = store.events.index(("append", Precedence.ROUTINE.value))
    assert store.events.index(("append", Precedence.FLASH.value)) < first_routine
    assert store.events.index(("notify", DESK)) < first_routine
