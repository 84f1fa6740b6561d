"""Authentication: mutual TLS maps a client certificate to a desk; tokens never reach logs."""

from __future__ import annotations

import json
import ssl

import aiohttp
import msgspec
import pytest
import trustme
from aiohttp.test_utils import TestServer
from cryptography import x509

from schemas.desks import DeskRegistry
from services.gateway.app import create_app
from services.gateway.auth import cert_subject
from services.gateway.tls import server_context
from services.runtime.logging import configure_logging

pytestmark = pytest.mark.integration

_SHORT = {"commonName": "CN", "organizationName": "O", "organizationalUnitName": "OU"}
TIMEOUT = aiohttp.ClientTimeout(total=30)


def _subject_of(pem: bytes) -> str:
    cert = x509.load_pem_x509_certificate(pem)
    return ",".join(
        f"{_SHORT[attr.oid._name]}={attr.value}" for rdn in cert.subject.rdns for attr in rdn
    )


def test_cert_subject_formats_rdns_in_certificate_order():
    peercert = {"subject": ((("countryName", "UA"),), (("commonName", "ukr.gs"),))}
    assert cert_subject(peercert) == "C=UA,CN=ukr.gs"
    assert cert_subject(None) is None


async def test_mutual_tls_client_certificate_authenticates_its_desk(
    tmp_path, make_settings, gateway_desks, new_submission
):
    ca = trustme.CA()
    server_cert = ca.issue_cert("127.0.0.1")
    client_cert = ca.issue_cert("ukr-gs.client.example", common_name="ukr.gs")
    stranger = trustme.CA().issue_cert("x.example", common_name="ukr.gs")  # other CA
    paths = {}
    for name, blob in {
        "cert": server_cert.cert_chain_pems[0].bytes(),
        "key": server_cert.private_key_pem.bytes(),
        "ca": ca.cert_pem.bytes(),
    }.items():
        paths[name] = tmp_path / f"{name}.pem"
        paths[name].write_bytes(blob)
    subject = _subject_of(client_cert.cert_chain_pems[0].bytes())
    desks = DeskRegistry(
        desks=tuple(
            msgspec.structs.replace(d, cert_subject=subject) if d.id == "ukr.gs" else d
            for d in gateway_desks.desks
        )
    )
    settings = make_settings(
        tls_cert=str(paths["cert"]), tls_key=str(paths["key"]), tls_client_ca=str(paths["ca"])
    )
    context = server_context(settings)
    assert context is not None
    server = TestServer(create_app(settings, registry=desks))
    await server.start_server(ssl=context)
    try:
        url = server.make_url("/v1/messages").with_scheme("https")

        def client_context(cert: trustme.LeafCert | None) -> ssl.SSLContext:
            ctx = ssl.create_default_context()
            ca.configure_trust(ctx)
            if cert is not None:
                cert.configure_cert(ctx)
            return ctx

        async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
            accepted = await session.post(
                url, json=new_submission(), ssl=client_context(client_cert)
            )
            assert accepted.status == 202, await accepted.text()
            anonymous = await session.post(url, json=new_submission(), ssl=client_context(None))
            assert anonymous.status == 401
        async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
            # A certificate from an unknown CA does not even complete the handshake.
            with pytest.raises(aiohttp.ClientError):
                await session.post(url, json=new_submission(), ssl=client_context(stranger))
    finally:
        await server.close()


async def test_one_request_line_per_request_without_the_token(
    gateway_client, auth, new_submission, capsys
):
    configure_logging("gateway", fmt="json")
    headers = auth("fra.cell")
    token = headers["Authorization"].removeprefix("Bearer ")
    response = await gateway_client.post("/v1/messages", json=new_submission(), headers=headers)
    assert response.status == 202
    refused = await gateway_client.post(
        "/v1/messages", json=new_submission(), headers={"Authorization": "Bearer leaked-guess"}
    )
    assert refused.status == 401
    out = capsys.readouterr().out
    assert token not in out
    assert "leaked-guess" not in out
    lines = [json.loads(line) for line in out.splitlines() if '"http_request"' in line]
    accepted = next(line for line in lines if line["status"] == 202)
    body = await response.json()
    assert accepted["desk"] == "fra.cell"
    assert accepted["route"] == "/v1/messages"
    assert accepted["message_id"] == body["message_id"]
    assert accepted["request_id"] == response.headers["X-Request-ID"]
    assert any(line["status"] == 401 and line["desk"] is None for line in lines)
