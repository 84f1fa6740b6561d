"""The profile summary charges each sample to the right area (bench/profile.py)."""

from __future__ import annotations

from bench.profile import summarise

_LOOP = "run (asyncio/base_events.py:1)"
_MAIN = "main (services/router/__main__.py:30);run (asyncio/runners.py:118)"
_POST = "post (services/gateway/submit.py:9)"
_JSON = "encode (json/encoder.py:7)"
STACKS = (
    # a socket write under aiohttp is HTTP's cost, not the event loop's
    (f"{_LOOP};_handle (aiohttp/web_app.py:2);write (asyncio/selector_events.py:3)", 4),
    # innermost area wins: a log line written from gateway code is logging
    (f"{_LOOP};{_POST};handled (services/runtime/canonical.py:5);{_JSON}", 3),
    # nothing but the loop inside its dispatch: the loop's own, not the entry point's
    (f"{_MAIN};{_LOOP};select (selectors.py:468)", 2),
    # decode called by the router
    ("plan (services/router/route.py:1);decode (schemas/codec.py:80)", 1),
)
RAW = "\n".join([*(f"{stack} {count}" for stack, count in STACKS), "not a stack line"])


def test_samples_are_charged_to_the_innermost_area_and_the_loop_is_transparent():
    profile = summarise(RAW, seconds=2)
    assert profile.samples == 10
    assert profile.areas == {
        "HTTP (aiohttp, multidict, yarl)": 0.4,
        "logging": 0.3,
        "event loop (asyncio, selectors)": 0.2,
        "contracts (decode, validate, encode)": 0.1,
    }
    assert next(iter(profile.top)) == "write (asyncio/selector_events.py)"
    assert profile.top["encode (json/encoder.py)"] == 0.3
    assert "logging 30%" in profile.render()


def test_an_empty_recording_says_why():
    assert "no samples" in summarise("", seconds=1).render()
