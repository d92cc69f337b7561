"""The HTTP Event Collector endpoints as Vector and Fluent Bit use them: Splunk's bodies and codes."""

from __future__ import annotations

import gzip
import json

from fastapi.testclient import TestClient

from mantissa_log.services.container import Services
from tests.collectors.apiserver import okta_events
from tests.collectors.conftest import stored_ids, trail_events
from tests.fixtures_api import ApiUser


def splunk(user: ApiUser) -> dict[str, str]:
    return {"Authorization": f"Splunk {user.token}"}


def envelopes(*objects: dict[str, object], separator: str = "") -> bytes:
    return separator.join(json.dumps(o) for o in objects).encode()


def test_concatenated_events_go_to_the_parser_their_sourcetype_names(
    api: TestClient, services: Services, shipper: ApiUser
) -> None:
    trail = trail_events("111111111111", "us-east-1", 3, "hec")
    okta = okta_events(2, "hec")
    body = envelopes(
        *[
            {"time": 1764579600, "host": "h1", "source": "s3", "sourcetype": "aws:cloudtrail", "event": e}
            for e in trail
        ],
        *[{"sourcetype": "okta:im2", "event": json.dumps(e)} for e in okta],  # events sent as JSON text
        {"sourcetype": "my:app", "host": "web-1", "event": "user logged in"},
    )
    answer = api.post("/services/collector/event", content=body, headers=splunk(shipper))
    assert (answer.status_code, answer.json()) == (200, {"text": "Success", "code": 0})
    assert stored_ids(services.infra.lake, "cloudtrail") == sorted(e["eventID"] for e in trail)
    assert stored_ids(services.infra.lake, "okta") == sorted(e["uuid"] for e in okta)
    assert len(stored_ids(services.infra.lake, "json")) == 1
    # A shipper's retry stores nothing twice.
    again = api.post("/services/collector/event", content=body, headers=splunk(shipper))
    assert again.json()["code"] == 0
    assert len(stored_ids(services.infra.lake, "cloudtrail")) == 3


def test_gzip_newlines_and_the_query_sourcetype(api: TestClient, services: Services, shipper: ApiUser) -> None:
    trail = trail_events("111111111111", "eu-west-1", 4, "gz")
    body = gzip.compress(envelopes(*[{"event": e} for e in trail], separator="\n"))
    headers = splunk(shipper) | {"Content-Encoding": "gzip"}
    answer = api.post("/services/collector/event?sourcetype=aws:cloudtrail", content=body, headers=headers)
    assert answer.json() == {"text": "Success", "code": 0}
    assert len(stored_ids(services.infra.lake, "cloudtrail")) == 4


def test_raw_takes_the_sources_own_payload(api: TestClient, services: Services, shipper: ApiUser) -> None:
    trail = trail_events("111111111111", "us-east-1", 5, "raw")
    body = gzip.compress(json.dumps({"Records": trail}).encode())
    headers = splunk(shipper) | {"Content-Encoding": "gzip"}
    answer = api.post("/services/collector/raw?sourcetype=aws:cloudtrail", content=body, headers=headers)
    assert answer.json() == {"text": "Success", "code": 0}
    assert len(stored_ids(services.infra.lake, "cloudtrail")) == 5


def test_refusals_in_splunks_words(api: TestClient, services: Services, shipper: ApiUser, alice: ApiUser) -> None:
    post = api.post
    good = {"event": {"a": 1}}
    cases = [
        (b"", 400, {"text": "No data", "code": 5}),
        (envelopes(good) + b"{nope", 400, {"text": "Invalid data format", "code": 6, "invalid-event-number": 1}),
        (envelopes(good, {"time": 1}), 400, {"text": "Event field is required", "code": 12, "invalid-event-number": 1}),
        (envelopes({"event": ""}), 400, {"text": "Event field cannot be blank", "code": 13, "invalid-event-number": 0}),
        (b"[1, 2]", 400, {"text": "Invalid data format", "code": 6, "invalid-event-number": 0}),
    ]
    for body, status, expected in cases:
        answer = post("/services/collector/event", content=body, headers=splunk(shipper))
        assert (answer.status_code, answer.json()) == (status, expected), body
    assert stored_ids(services.infra.lake, "json") == []  # a refused request stores nothing at all
    corrupt = post(
        "/services/collector/event", content=b"\x1f\x8bxx", headers=splunk(shipper) | {"Content-Encoding": "gzip"}
    )
    assert (corrupt.status_code, corrupt.json()["code"]) == (400, 6)
    body = envelopes(good)
    assert post("/services/collector/event", content=body).json() == {"text": "Token is required", "code": 2}
    unknown = post("/services/collector/event", content=body, headers={"Authorization": "Splunk nope"})
    assert (unknown.status_code, unknown.json()) == (403, {"text": "Invalid token", "code": 4})
    wrong_role = post("/services/collector/event", content=body, headers=splunk(alice))
    assert (wrong_role.status_code, wrong_role.json()["code"]) == (403, 4)
    basic = post("/services/collector/event", content=body, headers={"Authorization": "Basic eDp5"})
    assert (basic.status_code, basic.json()["code"]) == (401, 3)


def test_health(api: TestClient, shipper: ApiUser) -> None:
    answer = api.get("/services/collector/health/1.0", headers=splunk(shipper))
    assert answer.json() == {"text": "HEC is healthy", "code": 17}


def test_events_no_parser_can_read_are_refused_not_dropped(
    api: TestClient, services: Services, shipper: ApiUser
) -> None:
    body = envelopes({"sourcetype": "aws:cloudtrail", "event": {"not": "a CloudTrail record"}})
    answer = api.post("/services/collector/event", content=body, headers=splunk(shipper))
    assert (answer.status_code, answer.json()["code"]) == (400, 6)
    raw = api.post("/services/collector/raw", content=b"plain text, not JSON\n", headers=splunk(shipper))
    assert (raw.status_code, raw.json()["code"]) == (400, 6)
    assert stored_ids(services.infra.lake, "cloudtrail") == []
