"""The gateway's one settings object, read from ``CELL_*`` environment variables."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from services.runtime.settings import CommonSettings, load

__all__ = ["GatewaySettings", "load_settings"]

_MIB = 1024 * 1024


class GatewaySettings(CommonSettings, frozen=True, kw_only=True):
    host: Annotated[str, Meta(min_length=1, description="Listen address")] = "127.0.0.1"
    port: Annotated[int, Meta(ge=0, le=65535, description="Listen port (0: any free port)")] = 8080
    tls_cert: Annotated[
        str, Meta(description="PEM server certificate (chain); empty serves plain HTTP")
    ] = ""
    tls_key: Annotated[str, Meta(description="PEM private key of tls_cert")] = ""
    tls_client_ca: Annotated[
        str,
        Meta(
            description="PEM CA bundle for client certificates; set it to enable mutual TLS "
            "(a certificate subject maps to a desk's cert_subject)"
        ),
    ] = ""
    max_body_bytes: Annotated[
        int, Meta(ge=1024, le=64 * _MIB, description="Largest request body, refused before parsing")
    ] = 512 * 1024
    max_batch: Annotated[
        int, Meta(ge=1, le=1000, description="Most submissions in one POST /v1/messages:batch")
    ] = 100
    max_header_line_bytes: Annotated[
        int, Meta(ge=256, le=65536, description="Longest request line or header field")
    ] = 8190
    max_connections: Annotated[
        int, Meta(ge=1, le=100_000, description="Most concurrent client connections")
    ] = 1000
    rate_messages_per_s: Annotated[
        float, Meta(gt=0, description="Per-desk sustained submissions per second")
    ] = 50.0
    rate_messages_burst: Annotated[
        float, Meta(ge=1, description="Per-desk submission burst (token bucket size)")
    ] = 200.0
    rate_bytes_per_s: Annotated[
        float, Meta(gt=0, description="Per-desk sustained request body bytes per second")
    ] = 1.0 * _MIB
    rate_bytes_burst: Annotated[
        float, Meta(ge=1024, description="Per-desk body bytes burst (token bucket size)")
    ] = 8.0 * _MIB
    max_in_flight: Annotated[
        int,
        Meta(
            ge=2,
            le=1_000_000,
            description="Most submissions (batch items count one each) admitted and waiting "
            "for Kafka at once; past it a submission is refused at once with 503 `overloaded` "
            "(admission control). The default is about a second of one process's measured "
            "batch maximum (~6,500 items/s on 2 cores): 32 concurrent full batches and "
            "single POSTs up to max_connections fit below the reserved share",
        ),
    ] = 8192
    reserved_in_flight: Annotated[
        int,
        Meta(
            ge=0,
            description="Share of max_in_flight that ROUTINE and PRIORITY may not use: "
            "IMMEDIATE may use half of it, FLASH all of it, so a ROUTINE flood never sheds "
            "FLASH",
        ),
    ] = 1024
    overload_retry_after_s: Annotated[
        int, Meta(ge=1, le=3600, description="Retry-After sent with 503 `overloaded`")
    ] = 1
    publish_deadline_s: Annotated[
        float,
        Meta(gt=0, le=120, description="Longest wait for Kafka to acknowledge a write (then 503)"),
    ] = 5.0
    retry_after_s: Annotated[
        int, Meta(ge=1, le=3600, description="Retry-After sent with 503 responses")
    ] = 5
    ws_max_frame_bytes: Annotated[
        int, Meta(ge=1024, le=16 * _MIB, description="Largest WebSocket frame a client may send")
    ] = 64 * 1024
    ws_send_queue: Annotated[
        int,
        Meta(ge=1, le=100_000, description="Messages queued per WebSocket before disconnecting"),
    ] = 256
    ws_heartbeat_s: Annotated[float, Meta(gt=0, le=300, description="WebSocket ping interval")] = (
        20.0
    )
    inbox_max_wait_s: Annotated[
        float, Meta(ge=0, le=300, description="Longest long-poll wait of GET /v1/inbox")
    ] = 30.0
    cursor_secret: Annotated[
        str,
        Meta(
            description="HMAC key for inbox cursors (empty: a random key per process, so "
            "cursors do not survive a restart or cross gateways)",
            extra={"secret": True},
        ),
    ] = ""
    views_catchup_timeout_s: Annotated[
        float,
        Meta(
            gt=0,
            le=3600,
            description="Longest a query-views session may take to read the state topics up "
            "to their end at its start; then it starts over (queries answer 503 until the "
            "first catch-up)",
        ),
    ] = 300.0
    views_max_entries: Annotated[
        int,
        Meta(
            ge=100,
            le=10_000_000,
            description="Most incidents, cases, requests or orders each held for queries "
            "(records past it are counted and logged, not served)",
        ),
    ] = 100_000

    def __post_init__(self) -> None:
        # A request bigger than a bucket could never pass the limiter: refuse at start.
        if self.rate_messages_burst < self.max_batch:
            raise ValueError("`rate_messages_burst` must be at least `max_batch`")
        if self.rate_bytes_burst < self.max_body_bytes:
            raise ValueError("`rate_bytes_burst` must be at least `max_body_bytes`")
        # A full batch of ROUTINE must fit below the reserved share, or it could never pass.
        if self.max_in_flight - self.reserved_in_flight < self.max_batch:
            raise ValueError("`max_in_flight` - `reserved_in_flight` must be at least `max_batch`")
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("`tls_cert` and `tls_key` go together")
        if self.tls_client_ca and not self.tls_cert:
            raise ValueError("`tls_client_ca` (mutual TLS) needs `tls_cert` and `tls_key`")


def load_settings() -> GatewaySettings:
    return load(GatewaySettings)
