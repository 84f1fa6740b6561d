"""``decode`` and ``decode_vs_parse``: CPU cost of reading our envelope, per body kind.

Arms, over the same compact bytes of every golden envelope (each body kind, some variants):
msgspec typed decode through ``schemas.codec.decode`` (what the router and services call),
the equivalent pydantic v2 model's ``model_validate_json``, and msgspec's untyped JSON parse.
Corpus rate = messages/s decoding the corpus round robin (harmonic mean of the per-kind rates).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import msgspec

from bench.context import Context
from bench.corpus import golden
from bench.msgspec_twin import envelope_twin
from bench.pydantic_models import envelope_model
from bench.results import Arm, Scenario, Target
from bench.stats import Spread, ratios
from schemas import codec

_CHUNK = 64

Decode = Callable[[bytes], object]


def _rate(decode: Decode, data: bytes, seconds: float) -> float:
    """Decodes per second of one message, timed in chunks until ``seconds`` have passed."""
    count = 0
    start = time.perf_counter()
    while True:
        for _ in range(_CHUNK):
            decode(data)
        count += _CHUNK
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return count / elapsed


def _corpus_rate(rates: list[float]) -> float:
    return len(rates) / sum(1.0 / r for r in rates)


def run(ctx: Context) -> list[Scenario]:
    corpus = golden()
    model = envelope_model()
    untyped = msgspec.json.Decoder()
    arms: dict[str, Decode] = {
        "msgspec": codec.decode,
        "pydantic": model.model_validate_json,
        "parse": untyped.decode,
        "types_only": msgspec.json.Decoder(envelope_twin()).decode,
    }
    slice_s = ctx.knobs.decode_slice_s
    for decode in arms.values():  # warm-up: caches, lazily built validators, branch history
        for data in corpus.values():
            _rate(decode, data, slice_s / 4)
    per_kind: dict[str, dict[str, list[float]]] = {n: {a: [] for a in arms} for n in corpus}
    corpus_rates: dict[str, list[float]] = {a: [] for a in arms}
    for repeat in range(ctx.knobs.repeats):
        ctx.say(f"decode: repeat {repeat + 1}/{ctx.knobs.repeats} over {len(corpus)} messages")
        for arm, decode in arms.items():
            rates = []
            for name, data in corpus.items():
                rate = _rate(decode, data, slice_s)
                per_kind[name][arm].append(rate)
                rates.append(rate)
            corpus_rates[arm].append(_corpus_rate(rates))
    rows = tuple(_row(name, len(corpus[name]), per_kind[name]) for name in corpus)
    settings: dict[str, object] = {
        "messages": len(corpus),
        "corpus": "schemas/golden/v1 (compact JSON)",
        "bytes_min": min(map(len, corpus.values())),
        "bytes_max": max(map(len, corpus.values())),
        "slice_s_per_kind_per_arm": slice_s,
        "repeats": ctx.knobs.repeats,
        "pydantic_mode": "strict, frozen, extra=ignore, Rust regex; no cross-field rules",
    }
    types_only = Spread.of(corpus_rates["types_only"])
    ours = Arm(
        label="msgspec typed decode (codec.decode)",
        unit="msg/s",
        rate=Spread.of(corpus_rates["msgspec"]),
        notes={
            "types_only_msg_per_s": round(types_only.median),
            "types_only_vs_pydantic": round(
                types_only.median / Spread.of(corpus_rates["pydantic"]).median, 2
            ),
        },
    )
    pyd = Arm(
        label="pydantic v2 model_validate_json",
        unit="msg/s",
        rate=Spread.of(corpus_rates["pydantic"]),
    )
    parse = Arm(
        label="msgspec untyped JSON parse", unit="msg/s", rate=Spread.of(corpus_rates["parse"])
    )
    decode_target = Target(op=">=", value=2.5)
    decode_ratio = Spread.of(ratios(corpus_rates["msgspec"], corpus_rates["pydantic"]))
    parse_target = Target(op=">=", value=0.75)
    parse_ratio = Spread.of(ratios(corpus_rates["msgspec"], corpus_rates["parse"]))
    return [
        Scenario(
            key="decode",
            title="Decode and validate: msgspec vs pydantic v2",
            status="ok",
            ratio_definition="msgspec typed decode msg/s / pydantic v2 msg/s (corpus round robin)",
            target=decode_target,
            ratio=decode_ratio,
            met=decode_target.met(decode_ratio.median),
            ours=ours,
            baseline=pyd,
            settings=settings,
            rows=rows,
            bound="CPU, one core. Our decode = msgspec C parse + Python `re` for every pattern "
            "(ids, addresses, codes) + Python __post_init__ cross-field rules; pydantic runs "
            "Rust regexes and no cross-field rules. `types_only` (same contract without "
            "__post_init__) isolates the rules' cost",
        ),
        Scenario(
            key="decode_vs_parse",
            title="Typed decode vs untyped parse (msgspec)",
            status="ok",
            ratio_definition="typed decode msg/s / msgspec untyped json decode msg/s",
            target=parse_target,
            ratio=parse_ratio,
            met=parse_target.met(parse_ratio.median),
            ours=ours,
            baseline=parse,
            settings=settings,
            rows=rows,
            bound="validation: regex patterns on addresses, ids and codes, UUID and datetime "
            "parsing, enums, and __post_init__ cross-field rules",
        ),
    ]


def _row(name: str, size: int, rates: dict[str, list[float]]) -> dict[str, object]:
    med = {arm: Spread.of(values).median for arm, values in rates.items()}
    return {
        "message": name,
        "bytes": size,
        "msgspec_per_s": round(med["msgspec"]),
        "pydantic_per_s": round(med["pydantic"]),
        "parse_per_s": round(med["parse"]),
        "types_only_per_s": round(med["types_only"]),
        "decode_ratio": round(med["msgspec"] / med["pydantic"], 2),
        "vs_parse_ratio": round(med["msgspec"] / med["parse"], 2),
    }
