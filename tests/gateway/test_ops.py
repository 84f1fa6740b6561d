"""Operational routes: liveness, readiness, metrics, the OpenAPI document and its page."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

pytestmark = pytest.mark.integration


async def test_healthz_needs_no_credentials(gateway_client):
    response = await gateway_client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok"}
    assert response.headers["X-Request-ID"]


async def test_readyz_is_ready_with_the_broker_and_topics(gateway_client):
    response = await gateway_client.get("/readyz")
    assert response.status == 200, await response.text()
    assert (await response.json())["status"] == "ready"


async def test_readyz_is_503_when_the_lanes_are_missing(make_client, make_settings):
    client = await make_client(make_settings(topic_prefix="tmissing."))
    response = await client.get("/readyz")
    assert response.status == 503
    assert response.content_type == "application/problem+json"
    problem = await response.json()
    assert problem["code"] == "not_ready"
    assert "tmissing.cell.submit.flash" in problem["detail"]
    assert response.headers["Retry-After"] == "2"


async def test_openapi_validates_and_lists_exactly_the_served_routes(gateway_client):
    response = await gateway_client.get("/v1/openapi.json")
    assert response.status == 200
    document = await response.json()
    validate(document)
    documented = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }
    served = {
        (route.method, route.resource.canonical)
        for route in gateway_client.app.router.routes()
        if route.resource is not None and route.method != "HEAD"
    }
    assert documented == served
    submit = document["paths"]["/v1/messages"]["post"]
    assert "Submission" in submit["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert set(submit["responses"]) >= {"202", "400", "401", "413", "415", "422", "429", "503"}


async def test_docs_page_renders_offline(gateway_client):
    response = await gateway_client.get("/v1/docs")
    assert response.status == 200
    assert response.content_type == "text/html"
    page = await response.text()
    assert "/v1/messages:batch" in page
    assert 'id="schema-Submission"' in page
    assert "<script" not in page
    assert "http://" not in page
    assert "https://" not in page


async def test_metrics_expose_request_and_publish_counters(gateway_client, auth, new_submission):
    accepted = await gateway_client.post(
        "/v1/messages", json=new_submission(precedence="FLASH"), headers=auth("cell.watch")
    )
    assert accepted.status == 202
    await gateway_client.get("/v1/inbox-does-not-exist", headers=auth("cell.watch"))
    response = await gateway_client.get("/metrics")
    assert response.status == 200
    text = await response.text()
    assert (
        'cell_gateway_requests_total{method="POST",route="/v1/messages",status="202"} 1.0' in text
    )
    assert 'route="<unmatched>",status="404"' in text
    assert 'cell_gateway_publish_seconds_count{precedence="FLASH"} 1.0' in text
    assert "cell_gateway_connected_desks" in text
    assert 'cell_gateway_queue_depth{queue="publish.flash"} 0.0' in text


async def test_unknown_route_is_401_without_credentials_and_404_with(gateway_client, auth):
    anonymous = await gateway_client.get("/v1/nothing-here")
    assert anonymous.status == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    known = await gateway_client.get("/v1/nothing-here", headers=auth("fra.cell"))
    assert known.status == 404
    problem = await known.json()
    assert problem["code"] == "not_found"
    assert problem["request_id"] == known.headers["X-Request-ID"]


async def test_wrong_method_is_405_problem(gateway_client, auth):
    response = await gateway_client.delete("/v1/messages", headers=auth("fra.cell"))
    assert response.status == 405
    assert response.content_type == "application/problem+json"
    assert (await response.json())["code"] == "method_not_allowed"
    assert "POST" in response.headers["Allow"]
