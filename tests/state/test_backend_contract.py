"""The storage contract: every test here runs on SQLite and on DynamoDB (moto_server) alike.

The DynamoDB-only tests at the end check what the contract cannot see: the created tables'
description (the seed's schema, billing, encryption, PITR, TTL) and the 25-item batch limit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from mantissa_log.clock import epoch_seconds
from mantissa_log.errors import Conflict, ValidationFailed
from mantissa_log.state.backend import StateBackend
from mantissa_log.state.conditions import Compare, Exists, NotExists, all_of, any_of
from mantissa_log.state.tables import (
    AUDIT_LOG,
    DETECTION_RULES,
    ENABLED_RULES_INDEX,
    INTEGRATION_SETTINGS,
    INTEGRATION_TYPE_INDEX,
    SEED_TABLES,
    USER_SETTINGS,
)


def rule(user: str, name: str, enabled: str = "true", severity: str = "high", **extra: Any) -> dict[str, Any]:
    return {"user_id": user, "rule_name": name, "enabled": enabled, "severity": severity, **extra}


def names(items: list[dict[str, Any]], attribute: str = "rule_name") -> list[Any]:
    return [item[attribute] for item in items]


# -- get / put -----------------------------------------------------------------------------


def test_put_get_round_trip_keeps_types(backend: StateBackend) -> None:
    item = {
        "user_id": "user-123",
        "llm_provider": "anthropic",
        "preferences": {"max_tokens": 2000, "temperature": 0.7, "nested": {"deep": [1, 2.5, "x"]}},
        "ui_preferences": {"theme": "dark", "items_per_page": 50},
        "flags": [True, False, None],
        "small": 1e-07,
        "negative": -2.25,
        "big": 2**53,
        "empty": "",
        "rows": [{"a": 1}, {"b": [{}, []]}],
    }
    backend.put(USER_SETTINGS, item)
    got = backend.get(USER_SETTINGS, {"user_id": "user-123"})
    assert got == item
    assert got is not None
    assert type(got["preferences"]["max_tokens"]) is int
    assert type(got["preferences"]["temperature"]) is float
    assert got["flags"][0] is True
    assert type(got["big"]) is int


def test_get_missing_is_none(backend: StateBackend) -> None:
    assert backend.get(USER_SETTINGS, {"user_id": "nobody"}) is None
    assert backend.get(DETECTION_RULES, {"user_id": "nobody", "rule_name": "r"}) is None


def test_put_replaces_whole_item(backend: StateBackend) -> None:
    backend.put(USER_SETTINGS, {"user_id": "u", "a": 1, "b": 2})
    backend.put(USER_SETTINGS, {"user_id": "u", "a": 3})
    assert backend.get(USER_SETTINGS, {"user_id": "u"}) == {"user_id": "u", "a": 3}


def test_conditional_put_refuses_duplicate_and_writes_nothing(backend: StateBackend) -> None:
    backend.put(DETECTION_RULES, rule("u", "r1", threshold=1), NotExists("user_id"))
    with pytest.raises(Conflict):
        backend.put(DETECTION_RULES, rule("u", "r1", threshold=99), NotExists("user_id"))
    assert backend.get(DETECTION_RULES, {"user_id": "u", "rule_name": "r1"}) == rule("u", "r1", threshold=1)
    # Another range key under the same hash key is a different item.
    backend.put(DETECTION_RULES, rule("u", "r2"), NotExists("user_id"))


# -- update --------------------------------------------------------------------------------


def test_update_add_starts_from_zero_and_accumulates(backend: StateBackend) -> None:
    key = {"user_id": "u", "rule_name": "r"}
    first = backend.update(DETECTION_RULES, key, add_values={"executions": 1, "data_scanned_mb": 2.5})
    assert first == {**key, "executions": 1, "data_scanned_mb": 2.5}
    second = backend.update(
        DETECTION_RULES,
        key,
        set_values={"last_execution": "2024-11-27T15:25:00Z", "last_execution_status": "success"},
        add_values={"executions": 2, "data_scanned_mb": 0.5},
    )
    assert second == {
        **key,
        "executions": 3,
        "data_scanned_mb": 3,
        "last_execution": "2024-11-27T15:25:00Z",
        "last_execution_status": "success",
    }
    assert backend.get(DETECTION_RULES, key) == second


def test_update_with_exists_condition_on_missing_item_creates_nothing(backend: StateBackend) -> None:
    key = {"user_id": "u", "rule_name": "gone"}
    with pytest.raises(Conflict):
        backend.update(DETECTION_RULES, key, add_values={"executions": 1}, condition=Exists("user_id"))
    assert backend.get(DETECTION_RULES, key) is None


def test_update_keeps_other_attributes_and_removes(backend: StateBackend) -> None:
    backend.put(DETECTION_RULES, rule("u", "r", s3_key="k.yaml", last_alert="x", alert_count=3))
    new = backend.update(
        DETECTION_RULES,
        {"user_id": "u", "rule_name": "r"},
        set_values={"severity": "low", "user_id": "u"},
        remove=["last_alert", "alert_count", "never_there"],
        condition=Compare("enabled", "=", "true"),
    )
    assert new == rule("u", "r", severity="low", s3_key="k.yaml")
    assert backend.get(DETECTION_RULES, {"user_id": "u", "rule_name": "r"}) == new


def test_update_with_nothing_to_change_creates_the_bare_item(backend: StateBackend) -> None:
    assert backend.update(USER_SETTINGS, {"user_id": "u"}) == {"user_id": "u"}
    assert backend.get(USER_SETTINGS, {"user_id": "u"}) == {"user_id": "u"}


def test_concurrent_adds_are_atomic(backend: StateBackend) -> None:
    # Caveat for the dynamodb run: moto_server serves requests on threads without locking its
    # items, so under heavy concurrency it can (rarely) lose an ADD; real DynamoDB cannot.
    key = {"user_id": "u", "rule_name": "hot"}

    def work() -> None:
        for _ in range(10):
            backend.update(DETECTION_RULES, key, add_values={"executions": 1})

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert backend.get(DETECTION_RULES, key) == {**key, "executions": 40}


# -- delete --------------------------------------------------------------------------------


def test_delete_reports_whether_item_was_there(backend: StateBackend) -> None:
    backend.put(USER_SETTINGS, {"user_id": "u"})
    assert backend.delete(USER_SETTINGS, {"user_id": "u"}) is True
    assert backend.get(USER_SETTINGS, {"user_id": "u"}) is None
    assert backend.delete(USER_SETTINGS, {"user_id": "u"}) is False


def test_conditional_delete(backend: StateBackend) -> None:
    backend.put(USER_SETTINGS, {"user_id": "u", "owner": "a"})
    with pytest.raises(Conflict):
        backend.delete(USER_SETTINGS, {"user_id": "u"}, Compare("owner", "=", "b"))
    assert backend.get(USER_SETTINGS, {"user_id": "u"}) is not None
    assert backend.delete(USER_SETTINGS, {"user_id": "u"}, Compare("owner", "=", "a")) is True


# -- conditions ----------------------------------------------------------------------------


def test_lease_with_or_and_compare(backend: StateBackend) -> None:
    now = epoch_seconds()
    key = {"user_id": "lease"}
    free = any_of(NotExists("lease_owner"), Compare("lease_until", "<", now))
    backend.put(USER_SETTINGS, {**key, "lease_owner": "a", "lease_until": now + 60}, free)
    with pytest.raises(Conflict):  # held by a
        backend.put(USER_SETTINGS, {**key, "lease_owner": "b", "lease_until": now + 60}, free)
    assert backend.get(USER_SETTINGS, key) == {**key, "lease_owner": "a", "lease_until": now + 60}
    backend.update(USER_SETTINGS, key, set_values={"lease_until": now - 5})  # a's lease lapses
    backend.put(USER_SETTINGS, {**key, "lease_owner": "b", "lease_until": now + 60}, free)
    # Only the holder may release: AND of existence and equality.
    mine = all_of(Exists("lease_owner"), Compare("lease_owner", "=", "a"))
    with pytest.raises(Conflict):
        backend.delete(USER_SETTINGS, key, mine)
    assert backend.delete(USER_SETTINGS, key, all_of(Compare("lease_owner", "=", "b"))) is True


@pytest.mark.parametrize(
    ("condition", "holds"),
    [
        (Compare("n", ">=", 5), True),
        (Compare("n", ">", 5), False),
        (Compare("n", "<>", 4), True),
        (Compare("missing", "<>", 4), False),  # a comparison with a missing attribute is false
        (Compare("s", "<", 9), False),  # ordering across types is false, not an error
        (Compare("s", "<", "b"), True),
        (Compare("flag", "=", True), True),
        (all_of(), True),
        (any_of(), False),
        (any_of(Exists("missing"), all_of(Exists("n"), Compare("s", "=", "a"))), True),
    ],
)
def test_condition_semantics(backend: StateBackend, condition: Any, holds: bool) -> None:
    original = {"user_id": "c", "n": 5, "s": "a", "flag": True}
    backend.put(USER_SETTINGS, original)
    replacement = {"user_id": "c", "n": 6}
    if holds:
        backend.put(USER_SETTINGS, replacement, condition)
        assert backend.get(USER_SETTINGS, {"user_id": "c"}) == replacement
    else:
        with pytest.raises(Conflict):
            backend.put(USER_SETTINGS, replacement, condition)
        assert backend.get(USER_SETTINGS, {"user_id": "c"}) == original


# -- query ---------------------------------------------------------------------------------


def pages(fetch: Callable[[Any], Any]) -> list[list[Any]]:
    """Every page's rule names, following next_key to the end."""
    out: list[list[Any]] = []
    start = None
    while True:
        page = fetch(start)
        out.append(names(page.items))
        if page.next_key is None:
            return out
        start = page.next_key
        assert len(out) < 50, "pagination does not end"


def test_query_by_hash_is_ordered_and_paginates(backend: StateBackend) -> None:
    for name in ["r3", "r1", "r5", "r2", "r4"]:
        backend.put(DETECTION_RULES, rule("u", name))
    backend.put(DETECTION_RULES, rule("other", "r0"))
    assert names(backend.query(DETECTION_RULES, "u").items) == ["r1", "r2", "r3", "r4", "r5"]
    got = pages(lambda start: backend.query(DETECTION_RULES, "u", limit=2, start_key=start))
    assert got == [["r1", "r2"], ["r3", "r4"], ["r5"]]
    down = pages(lambda start: backend.query(DETECTION_RULES, "u", limit=2, start_key=start, descending=True))
    assert down == [["r5", "r4"], ["r3", "r2"], ["r1"]]
    assert names(backend.query(DETECTION_RULES, "u", range_value="r4").items) == ["r4"]
    assert backend.query(DETECTION_RULES, "nobody").items == []


def test_query_last_full_page_has_no_next_key(backend: StateBackend) -> None:
    for name in ["a", "b", "c", "d"]:
        backend.put(DETECTION_RULES, rule("u", name))
    got = pages(lambda start: backend.query(DETECTION_RULES, "u", limit=2, start_key=start))
    assert got == [["a", "b"], ["c", "d"]]


def test_enabled_rules_index(backend: StateBackend) -> None:
    backend.batch_put(
        DETECTION_RULES,
        [
            rule("u1", "a", "true", "high"),
            rule("u1", "b", "false", "high"),
            rule("u1", "c", "true", "critical"),
            rule("u2", "d", "true", "low"),
            rule("u2", "e", "true", "high"),
            rule("u2", "f", "false", "critical"),
        ],
    )
    enabled = backend.query(DETECTION_RULES, "true", index=ENABLED_RULES_INDEX).items
    assert sorted(names(enabled)) == ["a", "c", "d", "e"]
    severities = [item["severity"] for item in enabled]
    assert severities == sorted(severities)  # ordered by the index's range key
    high = backend.query(DETECTION_RULES, "true", index=ENABLED_RULES_INDEX, range_value="high").items
    assert sorted(names(high)) == ["a", "e"]
    assert {item["user_id"] for item in high} == {"u1", "u2"}
    disabled = backend.query_all(DETECTION_RULES, "false", index=ENABLED_RULES_INDEX, limit=1)
    assert sorted(names(disabled)) == ["b", "f"]
    down = backend.query(DETECTION_RULES, "true", index=ENABLED_RULES_INDEX, descending=True).items
    assert [item["severity"] for item in down] == sorted(severities, reverse=True)


def test_index_pagination_returns_each_item_once(backend: StateBackend) -> None:
    items = [rule(f"u{i % 3}", f"r{i}", "true", ["high", "low"][i % 2]) for i in range(9)]
    backend.batch_put(DETECTION_RULES, items)
    got = pages(
        lambda start: backend.query(DETECTION_RULES, "true", index=ENABLED_RULES_INDEX, limit=2, start_key=start)
    )
    flat = [name for page in got for name in page]
    assert sorted(flat) == sorted(names(items))
    assert all(len(page) <= 2 for page in got)


def test_integration_type_index(backend: StateBackend) -> None:
    def integration(user: str, iid: str, kind: str) -> dict[str, Any]:
        return {"user_id": user, "integration_id": iid, "integration_type": kind, "enabled": True, "config": {}}

    backend.put(INTEGRATION_SETTINGS, integration("u1", "slack-main", "slack"))
    backend.put(INTEGRATION_SETTINGS, integration("u2", "slack-ops", "slack"))
    backend.put(INTEGRATION_SETTINGS, integration("u1", "jira-sec", "jira"))
    slack = backend.query(INTEGRATION_SETTINGS, "slack", index=INTEGRATION_TYPE_INDEX).items
    assert sorted(names(slack, "integration_id")) == ["slack-main", "slack-ops"]
    assert backend.query(INTEGRATION_SETTINGS, "webhook", index=INTEGRATION_TYPE_INDEX).items == []
    mine = backend.query(INTEGRATION_SETTINGS, "u1").items
    assert names(mine, "integration_id") == ["jira-sec", "slack-main"]


def test_number_range_key_orders_numerically(backend: StateBackend) -> None:
    backend.batch_put(AUDIT_LOG, [{"chain": "main", "seq": seq, "event": f"e{seq}"} for seq in range(1, 13)])
    ascending = backend.query(AUDIT_LOG, "main").items
    assert [item["seq"] for item in ascending] == list(range(1, 13))
    latest = backend.query(AUDIT_LOG, "main", descending=True, limit=1)
    assert [item["seq"] for item in latest.items] == [12]
    assert latest.next_key is not None
    rest = backend.query(AUDIT_LOG, "main", descending=True, limit=5, start_key=latest.next_key)
    assert [item["seq"] for item in rest.items] == [11, 10, 9, 8, 7]
    assert backend.get(AUDIT_LOG, {"chain": "main", "seq": 10}) == {"chain": "main", "seq": 10, "event": "e10"}
    assert backend.query(AUDIT_LOG, "main", range_value=7).items[0]["event"] == "e7"
    # Appending races on a conditional put of seq+1.
    with pytest.raises(Conflict):
        backend.put(AUDIT_LOG, {"chain": "main", "seq": 12, "event": "late"}, NotExists("seq"))


# -- batches -------------------------------------------------------------------------------


def test_batch_put_get_delete(backend: StateBackend) -> None:
    items = [rule("bulk", f"r{i:02d}", threshold=i, weight=i / 4) for i in range(60)]
    backend.batch_put(DETECTION_RULES, items)
    keys = [{"user_id": "bulk", "rule_name": f"r{i:02d}"} for i in range(60)]
    missing = [{"user_id": "bulk", "rule_name": f"missing{i}"} for i in range(5)]
    found = backend.batch_get(DETECTION_RULES, keys[:30] + missing + keys[30:])
    assert sorted(found, key=lambda item: item["rule_name"]) == items
    assert backend.batch_get(DETECTION_RULES, []) == []
    assert len(backend.query_all(DETECTION_RULES, "bulk", limit=25)) == 60
    backend.batch_delete(DETECTION_RULES, keys[:59])
    assert backend.batch_get(DETECTION_RULES, keys) == [items[59]]
    backend.batch_delete(DETECTION_RULES, keys)
    assert backend.query(DETECTION_RULES, "bulk").items == []


def test_batch_put_last_write_of_a_key_wins(backend: StateBackend) -> None:
    backend.batch_put(USER_SETTINGS, [{"user_id": "u", "v": 1}, {"user_id": "w"}, {"user_id": "u", "v": 2}])
    assert backend.get(USER_SETTINGS, {"user_id": "u"}) == {"user_id": "u", "v": 2}


def test_scan_and_drop_all(backend: StateBackend) -> None:
    backend.batch_put(USER_SETTINGS, [{"user_id": f"u{i}", "n": i} for i in range(30)])
    backend.put(DETECTION_RULES, rule("u", "r"))
    assert sorted(item["n"] for item in backend.scan(USER_SETTINGS)) == list(range(30))
    backend.drop_all([USER_SETTINGS, DETECTION_RULES])
    assert list(backend.scan(USER_SETTINGS)) == []
    assert list(backend.scan(DETECTION_RULES)) == []


# -- TTL -----------------------------------------------------------------------------------


def test_expired_items_are_invisible_and_purged(backend: StateBackend) -> None:
    now = epoch_seconds()
    past, future = now - 100, now + 3600
    backend.batch_put(
        DETECTION_RULES,
        [
            rule("u", "old1", ttl=past),
            rule("u", "live1", ttl=future),
            rule("u", "old2", ttl=past),
            rule("u", "plain"),
            rule("u", "old3", ttl=past),
            rule("u", "live2", ttl=future),
        ],
    )
    assert backend.get(DETECTION_RULES, {"user_id": "u", "rule_name": "old1"}) is None
    assert backend.get(DETECTION_RULES, {"user_id": "u", "rule_name": "live1"}) is not None
    live = ["live1", "live2", "plain"]
    assert names(backend.query(DETECTION_RULES, "u").items) == live
    got = pages(lambda start: backend.query(DETECTION_RULES, "u", limit=2, start_key=start))
    assert [name for page in got for name in page] == live
    on_index = backend.query(DETECTION_RULES, "true", index=ENABLED_RULES_INDEX).items
    assert sorted(names(on_index)) == live
    assert sorted(names(list(backend.scan(DETECTION_RULES)))) == live
    keys = [{"user_id": "u", "rule_name": n} for n in ["old1", "old2", "old3", *live]]
    assert sorted(names(backend.batch_get(DETECTION_RULES, keys))) == live
    assert backend.purge_expired(DETECTION_RULES, now) == 3
    assert backend.purge_expired(DETECTION_RULES, now) == 0
    assert backend.purge_expired(DETECTION_RULES, future) == 2
    assert names(backend.query(DETECTION_RULES, "u").items) == ["plain"]


def test_writes_treat_expired_items_as_absent(backend: StateBackend) -> None:
    past = epoch_seconds() - 100
    key = {"user_id": "u", "rule_name": "r"}
    backend.put(DETECTION_RULES, {**key, "executions": 7, "note": "stale", "ttl": past})
    backend.update(DETECTION_RULES, key, add_values={"executions": 1})
    assert backend.get(DETECTION_RULES, key) == {**key, "executions": 1}
    backend.put(DETECTION_RULES, {**key, "ttl": past})
    backend.put(DETECTION_RULES, rule("u", "r"), NotExists("user_id"))
    assert backend.get(DETECTION_RULES, key) == rule("u", "r")
    backend.put(USER_SETTINGS, {"user_id": "gone", "ttl": past})
    assert backend.delete(USER_SETTINGS, {"user_id": "gone"}) is False
    backend.put(USER_SETTINGS, {"user_id": "gone", "ttl": past})
    with pytest.raises(Conflict):
        backend.update(USER_SETTINGS, {"user_id": "gone"}, set_values={"a": 1}, condition=Exists("user_id"))


# -- DynamoDB only -------------------------------------------------------------------------


def dynamodb_client(endpoint: str) -> Any:
    return boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")


def test_dynamodb_tables_match_the_seed(moto_endpoint: str, environment_name: str) -> None:
    from mantissa_log.state.dynamodb_backend import DynamoDbBackend

    backend = DynamoDbBackend(environment=environment_name, endpoint_url=moto_endpoint, region="us-east-1")
    backend.ensure_tables(SEED_TABLES)
    backend.ensure_tables(SEED_TABLES)  # idempotent
    backend.close()
    client = dynamodb_client(moto_endpoint)
    expected = {
        f"mantissa-log-user-settings-{environment_name}": ([("user_id", "HASH")], {}),
        f"mantissa-log-detection-rules-{environment_name}": (
            [("user_id", "HASH"), ("rule_name", "RANGE")],
            {"EnabledRulesIndex": [("enabled", "HASH"), ("severity", "RANGE")]},
        ),
        f"mantissa-log-integration-settings-{environment_name}": (
            [("user_id", "HASH"), ("integration_id", "RANGE")],
            {"IntegrationTypeIndex": [("integration_type", "HASH")]},
        ),
    }
    listing = client.get_paginator("list_tables").paginate()
    listed = {name for page in listing for name in page["TableNames"]}
    assert set(expected) <= listed
    for name, (key_schema, indexes) in expected.items():
        table = client.describe_table(TableName=name)["Table"]
        assert table["TableStatus"] == "ACTIVE"
        assert [(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]] == key_schema
        types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
        assert set(types.values()) == {"S"}
        got_indexes = {
            gsi["IndexName"]: [(k["AttributeName"], k["KeyType"]) for k in gsi["KeySchema"]]
            for gsi in table.get("GlobalSecondaryIndexes", [])
        }
        assert got_indexes == indexes
        for gsi in table.get("GlobalSecondaryIndexes", []):
            assert gsi["Projection"]["ProjectionType"] == "ALL"
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert table["SSEDescription"]["SSEType"] == "KMS"
        assert table["SSEDescription"]["Status"] in {"ENABLED", "ENABLING"}
        backups = client.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
        ttl = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        assert ttl["AttributeName"] == "ttl"
        assert ttl["TimeToLiveStatus"] == "ENABLED"


def test_dynamodb_number_range_key_and_kms_key(moto_endpoint: str, environment_name: str) -> None:
    from mantissa_log.state.dynamodb_backend import DynamoDbBackend

    key_id = boto3.client("kms", endpoint_url=moto_endpoint, region_name="us-east-1").create_key()["KeyMetadata"][
        "KeyId"
    ]
    backend = DynamoDbBackend(
        environment=environment_name, endpoint_url=moto_endpoint, region="us-east-1", kms_key_id=key_id
    )
    backend.ensure_tables([AUDIT_LOG])
    table = dynamodb_client(moto_endpoint).describe_table(TableName=AUDIT_LOG.physical_name(environment_name))["Table"]
    assert {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]} == {"chain": "S", "seq": "N"}
    assert key_id in table["SSEDescription"]["KMSMasterKeyArn"]


class Recorder:
    """Passes every call to the real client and records the size of each batch request."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.write_sizes: list[int] = []
        self.get_sizes: list[int] = []

    def batch_write_item(self, **kwargs: Any) -> Any:
        self.write_sizes.append(sum(len(requests) for requests in kwargs["RequestItems"].values()))
        return self._client.batch_write_item(**kwargs)

    def batch_get_item(self, **kwargs: Any) -> Any:
        self.get_sizes.append(sum(len(table["Keys"]) for table in kwargs["RequestItems"].values()))
        return self._client.batch_get_item(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_dynamodb_batches_never_exceed_25(moto_endpoint: str, environment_name: str) -> None:
    from mantissa_log.state.dynamodb_backend import DynamoDbBackend

    recorder = Recorder(dynamodb_client(moto_endpoint))
    backend = DynamoDbBackend(environment=environment_name, client=recorder)
    backend.ensure_tables([USER_SETTINGS])
    backend.batch_put(USER_SETTINGS, [{"user_id": f"u{i:03d}"} for i in range(76)])
    assert len(backend.batch_get(USER_SETTINGS, [{"user_id": f"u{i:03d}"} for i in range(80)])) == 76
    backend.batch_delete(USER_SETTINGS, [{"user_id": f"u{i:03d}"} for i in range(26)])
    backend.drop_all([USER_SETTINGS])
    assert list(backend.scan(USER_SETTINGS)) == []
    assert recorder.write_sizes == [25, 25, 25, 1, 25, 1, 25, 25]
    assert recorder.get_sizes == [25, 25, 25, 5]


def test_dynamodb_refuses_non_string_index_keys(moto_endpoint: str, environment_name: str) -> None:
    """The GSI keys are typed S: real DynamoDB refuses anything else, and moto does not check,
    so the backend refuses it itself (SQLite instead leaves such an item out of the index)."""
    from mantissa_log.state.dynamodb_backend import DynamoDbBackend

    backend = DynamoDbBackend(environment=environment_name, endpoint_url=moto_endpoint, region="us-east-1")
    backend.ensure_tables([DETECTION_RULES])
    for bad in (True, 1, "", None):
        with pytest.raises(ValidationFailed):
            backend.put(DETECTION_RULES, rule("u", "r", enabled=bad))  # type: ignore[arg-type]
    with pytest.raises(ValidationFailed):
        backend.update(DETECTION_RULES, {"user_id": "u", "rule_name": "r"}, set_values={"severity": 3})
    assert backend.get(DETECTION_RULES, {"user_id": "u", "rule_name": "r"}) is None
