"""WITHDRAW_OFFER (pure): a donor takes back its own open offer, or some lines of it."""

from __future__ import annotations

import pytest
from test_support_lifecycle import (  # type: ignore[import-not-found]  # via conftest
    FRA,
    GBR,
    REQUESTER,
    USA,
    WATCH,
    action,
    current,
    handle,
    offer,
    refusal,
    service,
    sourced,
    statuses,
)

from schemas import codec
from schemas.kinds.notifications import RejectionCode
from schemas.kinds.support import RequestState
from schemas.kinds.support_actions import CommitOffers, RequestAction, WithdrawOffer
from services.support.state import OfferState


def pledged(svc: object) -> list[int]:
    return [line.pledged for line in current(svc).status.lines]


def test_whole_offer_withdrawn_drops_the_pledge_and_rederives_matching() -> None:
    svc = service()
    sourced(svc)
    handle(svc, offer(USA, "off-usa-1", {1: 100, 2: 10}))
    handle(svc, offer(GBR, "off-gbr-1", {1: 20}))
    assert current(svc).state is RequestState.MATCHED
    assert pledged(svc) == [120, 10]

    out = handle(svc, action(USA, WithdrawOffer(offer_id="off-usa-1", reason="stock diverted")))
    ((note, status),) = statuses(out)
    assert status.state is RequestState.PARTIALLY_MATCHED
    assert [line.pledged for line in status.lines] == [20, 0]
    assert note.action_to == (REQUESTER,)
    assert set(note.info_to) == {USA, GBR}  # every donor learns the totals moved
    assert "stock diverted" in status.note
    withdrawn = current(svc).offer("off-usa-1")
    assert withdrawn is not None
    assert withdrawn.state is OfferState.WITHDRAWN
    assert withdrawn.revision == 2  # made, then withdrawn


def test_some_lines_withdrawn_keep_the_rest_of_the_offer_open() -> None:
    svc = service()
    sourced(svc)
    handle(svc, offer(FRA, "off-fra-1", {1: 40, 2: 10}))
    out = handle(svc, action(FRA, WithdrawOffer(offer_id="off-fra-1", line_nos=(2,))))
    ((_, status),) = statuses(out)
    assert [line.pledged for line in status.lines] == [40, 0]
    assert status.state is RequestState.PARTIALLY_MATCHED
    kept = current(svc).offer("off-fra-1")
    assert kept is not None
    assert kept.state is OfferState.OPEN
    assert [line.line_no for line in kept.lines] == [1]
    # What is left can still be committed.
    handle(svc, action(WATCH, CommitOffers(offer_ids=("off-fra-1",))))
    assert current(svc).state is RequestState.COMMITTED
    assert [line.committed for line in current(svc).status.lines] == [40, 0]


def test_another_donors_offer_and_unknown_lines_are_refused_with_reasons() -> None:
    svc = service()
    sourced(svc)
    handle(svc, offer(FRA, "off-fra-1", {1: 40}))
    before = current(svc)
    rejected = refusal(handle(svc, action(GBR, WithdrawOffer(offer_id="off-fra-1"))))
    assert rejected.code is RejectionCode.NOT_AUTHORISED
    assert "belongs to fra.cell" in rejected.detail
    rejected = refusal(handle(svc, action(FRA, WithdrawOffer(offer_id="off-fra-1", line_nos=(2,)))))
    assert rejected.code is RejectionCode.INVALID_REFERENCE
    assert "no line(s) [2]" in rejected.detail
    rejected = refusal(handle(svc, action(REQUESTER, WithdrawOffer(offer_id="off-fra-1"))))
    assert rejected.code is RejectionCode.NOT_AUTHORISED  # not a donor desk at all
    assert current(svc) == before


def test_withdrawal_after_commitment_is_refused_and_changes_nothing() -> None:
    svc = service()
    sourced(svc)
    handle(svc, offer(GBR, "off-gbr-1", {1: 60}))
    handle(svc, action(WATCH, CommitOffers(offer_ids=("off-gbr-1",))))
    before = current(svc)
    rejected = refusal(handle(svc, action(GBR, WithdrawOffer(offer_id="off-gbr-1"))))
    assert rejected.code is RejectionCode.INVALID_TRANSITION
    assert rejected.current_state == "COMMITTED"
    assert "WITHDRAW_OFFER" in rejected.detail
    assert current(svc) == before


def test_a_withdrawn_offer_is_not_withdrawn_twice_and_a_replay_is_ignored() -> None:
    svc = service()
    sourced(svc)
    handle(svc, offer(USA, "off-usa-1", {1: 10}))
    withdraw = action(USA, WithdrawOffer(offer_id="off-usa-1"))
    assert statuses(handle(svc, withdraw))
    assert handle(svc, withdraw) == []  # same message id: nothing again
    rejected = refusal(handle(svc, action(USA, WithdrawOffer(offer_id="off-usa-1"))))
    assert rejected.code is RejectionCode.INVALID_TRANSITION
    assert "WITHDRAWN" in rejected.detail


def test_the_command_round_trips_and_refuses_repeated_lines() -> None:
    body = RequestAction(
        request_id="req-ukr-0001",
        command=WithdrawOffer(offer_id="off-1", line_nos=(1, 3), reason="re-tasked"),
    )
    envelope = action(USA, body.command)
    assert codec.decode(codec.encode(envelope)).body == envelope.body
    with pytest.raises(ValueError, match="repeat a line number"):
        WithdrawOffer(offer_id="off-1", line_nos=(2, 2))
