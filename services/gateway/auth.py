"""Who is calling: bearer tokens (stored as SHA-256 digests) or a client certificate.

The registry holds only token digests. A presented token is hashed, the digest looked up,
and the stored digest compared with ``hmac.compare_digest`` so that the comparison itself
leaks nothing about how much of a guess matched. Tokens are never logged. With mutual TLS,
the verified client certificate's subject (``CN=…,O=…`` in certificate order) names a
desk through its ``cert_subject``.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Any

from aiohttp import web

from schemas.desks import Desk, DeskRegistry, RegistryError, load_registry
from services.gateway import keys
from services.gateway.problems import Problem
from services.runtime.errors import ConfigurationError

_CHALLENGE = 'Bearer realm="paris-cell"'
_RDN_NAMES = {
    "commonName": "CN",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "countryName": "C",
    "localityName": "L",
    "stateOrProvinceName": "ST",
    "emailAddress": "emailAddress",
}


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def load_desks(path: str) -> DeskRegistry:
    try:
        return load_registry(Path(path))
    except RegistryError as exc:
        raise ConfigurationError(f"desk registry: {exc}") from exc


def desk_for_token(registry: DeskRegistry, token: str) -> Desk | None:
    digest = token_digest(token)
    desk = registry.by_token_sha256(digest)
    if desk is None:
        return None
    # The dict lookup found it by digest; the constant-time check is the authority.
    if any(hmac.compare_digest(digest, stored) for stored in desk.token_sha256):
        return desk
    return None


def cert_subject(peercert: dict[str, Any] | None) -> str | None:
    """``CN=ukr.mod,O=UKR MOD,C=UA``-style subject of a verified peer certificate."""
    if not peercert or "subject" not in peercert:
        return None
    parts = [
        f"{_RDN_NAMES.get(name, name)}={value}"
        for rdn in peercert["subject"]
        for name, value in rdn
    ]
    return ",".join(parts) or None


def _unauthenticated(detail: str) -> Problem:
    return Problem(401, "unauthenticated", detail, headers={"WWW-Authenticate": _CHALLENGE})


def authenticate(request: web.Request, registry: DeskRegistry) -> Desk:
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise _unauthenticated("the Authorization header must be `Bearer <token>`")
        desk = desk_for_token(registry, token)
        if desk is None:
            raise _unauthenticated("the bearer token is not valid")
        return desk
    subject = cert_subject(
        request.transport.get_extra_info("peercert") if request.transport else None
    )
    if subject is not None:
        desk = registry.by_cert_subject(subject)
        if desk is None:
            raise _unauthenticated("the client certificate is not registered to a desk")
        return desk
    raise _unauthenticated("credentials required: a bearer token or a client certificate")


def authenticate_route(request: web.Request, route: str) -> None:
    """Authenticate every request except to operations documented as public (health,
    metrics, docs): sets ``keys.DESK``. Unknown paths need credentials too: anonymous
    callers learn no routes. Called by the gateway's middleware (``access``)."""
    if route not in request.app[keys.OPENAPI].public_paths:
        request[keys.DESK] = authenticate(request, request.app[keys.REGISTRY])
