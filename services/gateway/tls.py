"""The server TLS context: TLS 1.2+, and mutual TLS when a client CA is configured."""

from __future__ import annotations

import ssl

from services.gateway.settings import GatewaySettings
from services.runtime.errors import ConfigurationError


def server_context(settings: GatewaySettings) -> ssl.SSLContext | None:
    """None for plain HTTP. With ``tls_client_ca`` a client certificate is verified when
    presented (CERT_OPTIONAL), so bearer-token desks and certificate desks share a port."""
    if not settings.tls_cert:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(settings.tls_cert, settings.tls_key)
        if settings.tls_client_ca:
            context.load_verify_locations(cafile=settings.tls_client_ca)
            context.verify_mode = ssl.CERT_OPTIONAL
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(f"TLS: {exc}") from exc
    return context
