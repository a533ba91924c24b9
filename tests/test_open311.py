"""Open311 GeoReport v2 at /open311/v2/: services, requests (GET, POST), one request; the field
list, statuses mapped onto open/closed, api_key, jurisdiction_id and errors as [{code, description}]."""

from __future__ import annotations

import dataclasses
import re

import jsonschema
import pytest
import requests

from store.api_clients import add_client
from store.db import transaction
from tests.harness import Harness

# The GeoReport v2 service request, field by field (wiki.open311.org/GeoReport_v2).
REQUEST_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["service_request_id", "status", "status_notes", "service_name", "service_code",
                 "description", "agency_responsible", "service_notice", "requested_datetime",
                 "updated_datetime", "expected_datetime", "address", "address_id", "zipcode",
                 "lat", "long", "media_url"],
    "properties": {
        "service_request_id": {"type": "string", "minLength": 1},
        "status": {"enum": ["open", "closed"]},
        "status_notes": {"type": ["string", "null"]},
        "service_name": {"type": "string"},
        "service_code": {"type": "string"},
        "description": {"type": ["string", "null"]},
        "agency_responsible": {"type": ["string", "null"]},
        "service_notice": {"type": ["string", "null"]},
        "requested_datetime": {"type": "string"},
        "updated_datetime": {"type": ["string", "null"]},
        "expected_datetime": {"type": ["string", "null"]},
        "address": {"type": ["string", "null"]},
        "address_id": {"type": ["string", "null"]},
        "zipcode": {"type": ["string", "null"]},
        "lat": {"type": ["number", "null"]},
        "long": {"type": ["number", "null"]},
        "media_url": {"type": ["string", "null"]},
    },
}
SERVICE_SCHEMA = {
    "type": "object",
    "required": ["service_code", "service_name", "description", "metadata", "type", "keywords",
                 "group"],
    "properties": {"service_code": {"type": "string"}, "service_name": {"type": "string"},
                   "metadata": {"type": "boolean"},
                   "type": {"enum": ["realtime", "batch", "blackbox"]}},
}
ERRORS_SCHEMA = {"type": "array", "minItems": 1, "items": {
    "type": "object", "additionalProperties": False, "required": ["code", "description"],
    "properties": {"code": {"type": "integer"}, "description": {"type": "string"}}}}
W3C = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")


@pytest.fixture
def civic(settings, engine, simulator):  # type: ignore[no-untyped-def]
    state, sim_url = simulator
    live = dataclasses.replace(settings, wecom=dataclasses.replace(settings.wecom, api_base=sim_url))
    harness = Harness.start(live, engine, state, sim_url)
    with transaction(harness.runtime.session_factory) as session:
        harness.key = add_client(session, name="随手拍", source="suishoupai",  # type: ignore[attr-defined]
                                 scopes={"tickets:read", "tickets:write"}).token
        harness.reader = add_client(session, name="县平台",  # type: ignore[attr-defined]
                                    scopes={"tickets:read"}).token
    yield harness
    harness.stop()


def url(harness, path: str) -> str:  # type: ignore[no-untyped-def]
    return f"{harness.base_url}/open311/v2/{path}"


def chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


NEW = {"service_code": "facility", "description": "路灯不亮，晚上很黑，电话13600001234",
       "address_string": "东顺苑第一网格3号楼", "lat": "38.1", "long": "106.3",
       "first_name": "女士", "last_name": "钱", "phone": "13600001234",
       "media_url": "https://example.org/p/1.jpg"}


def test_services_are_the_categories(civic) -> None:  # type: ignore[no-untyped-def]
    got = requests.get(url(civic, "services.json"), timeout=5)
    assert got.status_code == 200
    services = got.json()
    for service in services:
        jsonschema.validate(service, SERVICE_SCHEMA)
    assert {s["service_code"]: s["service_name"] for s in services}["facility"] == "市政设施"


def test_a_civic_app_posts_and_reads_back_a_request(civic) -> None:  # type: ignore[no-untyped-def]
    got = requests.post(url(civic, "requests.json"), data={**NEW, "api_key": civic.key,
                                                           "jurisdiction_id": "640323001"},
                        timeout=10)
    assert got.status_code == 201, got.text
    [created] = got.json()
    assert set(created) == {"service_request_id", "service_notice", "account_id"}
    assert chinese(created["service_notice"])
    number = created["service_request_id"]
    listed = requests.get(url(civic, "requests.json"), params={"api_key": civic.reader},
                          timeout=5).json()
    [one] = requests.get(url(civic, f"requests/{number}.json"), params={"api_key": civic.key},
                         timeout=5).json()
    assert listed == [one]
    jsonschema.validate(one, REQUEST_SCHEMA)
    assert one["status"] == "open" and one["service_code"] == "facility"
    assert one["service_name"] == "市政设施" and one["address"] == "东顺苑第一网格3号楼"
    assert (one["lat"], one["long"], one["media_url"]) == (38.1, 106.3, NEW["media_url"])
    for field in ("requested_datetime", "updated_datetime", "expected_datetime"):
        assert W3C.match(one[field]), (field, one[field])
    assert "东顺苑第一网格" in one["agency_responsible"]
    text = got.text + str(listed)
    assert "13600001234" not in text and "钱女士" not in text  # contact private, PII masked
    # the worker resolves it in chat: closed, with the note
    civic.say_to_app("lijuan", f"接单 {number}")
    civic.say_to_app("lijuan", f"办结 {number} 已更换灯泡")
    [done] = requests.get(url(civic, f"requests/{number}.json"),
                          params={"api_key": civic.reader}, timeout=5).json()
    jsonschema.validate(done, REQUEST_SCHEMA)
    assert done["status"] == "closed" and done["status_notes"] == "已办结：已更换灯泡"
    assert done["expected_datetime"] is None
    closed = requests.get(url(civic, "requests.json"), params={
        "api_key": civic.reader, "status": "closed", "service_code": "facility"}, timeout=5)
    assert [r["service_request_id"] for r in closed.json()] == [number]
    assert requests.get(url(civic, "requests.json"), params={
        "api_key": civic.reader, "status": "open"}, timeout=5).json() == []


def test_an_idempotency_key_makes_a_repeat_find_the_first(civic) -> None:  # type: ignore[no-untyped-def]
    def post():  # type: ignore[no-untyped-def]
        return requests.post(url(civic, "requests.json"), data={**NEW, "api_key": civic.key},
                             headers={"Idempotency-Key": "app-42"}, timeout=10)

    first, second = post(), post()
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()[0]["service_request_id"] == second.json()[0]["service_request_id"]


@pytest.mark.parametrize(("method", "path", "params", "status"), [
    ("post", "requests.json", {k: v for k, v in NEW.items()}, 401),  # no api_key
    ("post", "requests.json", {**NEW, "api_key": "wrong"}, 401),
    ("post", "requests.json", {**NEW, "api_key": "READER"}, 403),  # read-only token
    ("post", "requests.json", {**NEW, "api_key": "KEY", "service_code": "ufo"}, 400),
    ("post", "requests.json", {"service_code": "facility", "description": "路灯坏了",
                               "api_key": "KEY"}, 400),  # no location
    ("post", "requests.json", {**NEW, "api_key": "KEY", "lat": "north"}, 400),
    ("post", "requests.json", {**NEW, "api_key": "KEY", "description": ""}, 400),
    ("get", "requests.json", {}, 401),
    ("get", "requests.json", {"api_key": "READER", "status": "pending"}, 400),
    ("get", "requests.json", {"api_key": "READER", "start_date": "last week"}, 400),
    ("get", "requests/999999.json", {"api_key": "READER"}, 404),
    ("get", "requests/abc.json", {"api_key": "READER"}, 404),
    ("get", "requests.xml", {"api_key": "READER"}, 404),
    ("get", "services.json", {"jurisdiction_id": "elsewhere"}, 404),
])
def test_errors_are_open311_lists_in_chinese(civic, method, path, params, status) -> None:  # type: ignore[no-untyped-def]
    params = {k: {"KEY": civic.key, "READER": civic.reader}.get(v, v) for k, v in params.items()}
    if method == "post":
        got = requests.post(url(civic, path), data=params, timeout=10)
    else:
        got = requests.get(url(civic, path), params=params, timeout=10)
    assert got.status_code == status, got.text
    jsonschema.validate(got.json(), ERRORS_SCHEMA)
    assert got.json()[0]["code"] == status and chinese(got.json()[0]["description"])
    assert civic.tickets() == []
