"""The OpenAPI document at /api/v1/openapi.json is kept true: every route of the API and
Open311 blueprints is in it and vice versa, its examples validate against their schemas, and the
running API accepts them with answers that validate too."""

from __future__ import annotations

import dataclasses
import re

import jsonschema
import pytest
import requests

from store.api_clients import add_client
from store.db import transaction
from tests.harness import Harness
from web.openapi import document

DOCUMENTED = ("api_v1", "tickets_api", "open311", "api_docs")


@pytest.fixture
def api(settings, engine, simulator):  # type: ignore[no-untyped-def]
    state, sim_url = simulator
    live = dataclasses.replace(settings, wecom=dataclasses.replace(settings.wecom, api_base=sim_url))
    harness = Harness.start(live, engine, state, sim_url)
    with transaction(harness.runtime.session_factory) as session:
        harness.token = add_client(session, name="全能", scopes={  # type: ignore[attr-defined]
            "tickets:read", "tickets:write", "notices:write"}).token
    yield harness
    harness.stop()


def _validator(doc: dict, schema: dict) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({**schema, "components": doc["components"]})


def _check(doc: dict, path: str, method: str, status: int, body: object) -> None:
    content = doc["paths"][path][method]["responses"][str(status)]["content"]
    _validator(doc, content["application/json"]["schema"]).validate(body)


def test_every_route_is_documented_and_every_documented_path_is_a_route(api) -> None:  # type: ignore[no-untyped-def]
    from web import create_app

    app = create_app(api.runtime)
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] not in DOCUMENTED:
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        routes |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    served = requests.get(f"{api.base_url}/api/v1/openapi.json", timeout=5).json()
    assert served == document()
    documented = {(path, method) for path, ops in served["paths"].items() for method in ops}
    assert routes == documented
    assert len(routes) >= 13


def test_the_examples_validate_and_the_api_takes_them(api) -> None:  # type: ignore[no-untyped-def]
    doc = document()
    auth = {"Authorization": f"Bearer {api.token}"}
    examples = {}
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for media, spec in op.get("requestBody", {}).get("content", {}).items():
                _validator(doc, spec["schema"]).validate(spec["example"])
                examples[(path, method)] = (media, spec["example"])
    assert set(examples) == {("/api/v1/tickets", "post"), ("/api/v1/tickets/{ticket_id}/events",
                             "post"), ("/api/v1/notices", "post"),
                             ("/open311/v2/requests.json", "post")}
    base = api.base_url
    _, order = examples[("/api/v1/tickets", "post")]
    got = requests.post(f"{base}/api/v1/tickets", json=order, headers=auth, timeout=10)
    assert got.status_code == 201, got.text
    _check(doc, "/api/v1/tickets", "post", 201, got.json())
    number = got.json()["ticket"]["id"]
    _, event = examples[("/api/v1/tickets/{ticket_id}/events", "post")]
    got = requests.post(f"{base}/api/v1/tickets/{number}/events", json=event, headers=auth,
                        timeout=10)
    assert got.status_code == 201, got.text
    _check(doc, "/api/v1/tickets/{ticket_id}/events", "post", 201, got.json())
    got = requests.get(f"{base}/api/v1/tickets", headers=auth, timeout=10)
    _check(doc, "/api/v1/tickets", "get", 200, got.json())
    got = requests.get(f"{base}/api/v1/tickets/{number}", headers=auth, timeout=10)
    _check(doc, "/api/v1/tickets/{ticket_id}", "get", 200, got.json())
    _, notice = examples[("/api/v1/notices", "post")]
    got = requests.post(f"{base}/api/v1/notices", json=notice, headers=auth, timeout=10)
    assert got.status_code == 201, got.text
    _check(doc, "/api/v1/notices", "post", 201, got.json())
    media, new = examples[("/open311/v2/requests.json", "post")]
    assert media == "application/x-www-form-urlencoded"
    got = requests.post(f"{base}/open311/v2/requests.json", data={**new, "api_key": api.token},
                        timeout=10)
    assert got.status_code == 201, got.text
    _check(doc, "/open311/v2/requests.json", "post", 201, got.json())
    got = requests.get(f"{base}/open311/v2/requests.json", params={"api_key": api.token},
                       timeout=10)
    _check(doc, "/open311/v2/requests.json", "get", 200, got.json())
    got = requests.get(f"{base}/open311/v2/services.json", timeout=10)
    _check(doc, "/open311/v2/services.json", "get", 200, got.json())
    refused = requests.get(f"{base}/api/v1/tickets/999999", headers=auth, timeout=10)
    _check(doc, "/api/v1/tickets/{ticket_id}", "get", 404, refused.json())
