"""Start keys come back from clients: both backends take only keys the same query could have returned."""

from __future__ import annotations

from typing import Any

import pytest

from mantissa_log.errors import InvalidCursor
from mantissa_log.state.backend import StateBackend
from mantissa_log.state.tables import ALERTS, AUDIT_LOG, DETECTION_RULES, ENABLED_RULES_INDEX
from tests.state.test_backend_contract import rule


def test_next_keys_are_the_same_on_both_backends(backend: StateBackend) -> None:
    backend.batch_put(DETECTION_RULES, [rule("u", "a"), rule("u", "b"), rule("v", "c", "true", "low")])
    assert backend.query(DETECTION_RULES, "u", limit=1).next_key == {"user_id": "u", "rule_name": "a"}
    by_index = backend.query(DETECTION_RULES, "true", index=ENABLED_RULES_INDEX, limit=1).next_key
    assert by_index == {"user_id": "u", "rule_name": "a", "enabled": "true", "severity": "high"}
    backend.batch_put(AUDIT_LOG, [{"chain": "main", "seq": n} for n in (1, 2)])
    assert backend.query(AUDIT_LOG, "main", limit=1, descending=True).next_key == {"chain": "main", "seq": 2}


FORGED_TABLE_KEYS: list[Any] = [
    {},
    [],
    "u",
    {"_pos": ["a"]},
    {"user_id": "u"},
    {"user_id": "u", "rule_name": "a", "enabled": "true"},
    {"user_id": "other", "rule_name": "a"},
    {"user_id": "u", "rule_name": 1},
    {"user_id": "u", "rule_name": ""},
    {"user_id": "u", "rule_name": "\ud800"},
    {"user_id": "u", "rule_name": "x" * 1025},
    {"user_id": "u", "rule_name": None},
]


@pytest.mark.parametrize("forged", FORGED_TABLE_KEYS)
def test_forged_table_start_keys(backend: StateBackend, forged: Any) -> None:
    backend.put(DETECTION_RULES, rule("u", "a"))
    with pytest.raises(InvalidCursor) as refused:
        backend.query(DETECTION_RULES, "u", limit=1, start_key=forged)
    assert refused.value.field == "next"


FORGED_INDEX_KEYS: list[Any] = [
    {"user_id": "u", "rule_name": "a"},  # a table key without the index key
    {"user_id": "u", "rule_name": "a", "enabled": "false", "severity": "high"},  # another partition
    {"user_id": "u", "rule_name": "a", "enabled": "true", "severity": "low"},  # outside range_value="high"
    {"user_id": "u", "rule_name": "a", "enabled": "true", "severity": 3},
]


@pytest.mark.parametrize("forged", FORGED_INDEX_KEYS)
def test_forged_index_start_keys(backend: StateBackend, forged: Any) -> None:
    backend.put(DETECTION_RULES, rule("u", "a"))
    with pytest.raises(InvalidCursor):
        backend.query(DETECTION_RULES, "true", index=ENABLED_RULES_INDEX, range_value="high", start_key=forged)


@pytest.mark.parametrize("seq", ["1", 1.0, True, 2**63, -(2**63) - 1, None])
def test_number_keys_are_64_bit_integers(backend: StateBackend, seq: Any) -> None:
    backend.put(AUDIT_LOG, {"chain": "main", "seq": 1})
    with pytest.raises(InvalidCursor):
        backend.query(AUDIT_LOG, "main", limit=1, start_key={"chain": "main", "seq": seq})


def test_a_start_key_must_lie_within_the_range_condition(backend: StateBackend) -> None:
    backend.put(ALERTS, {"user_id": "u", "alert_id": "5", "delivery_status": "done"})
    ok = backend.query(
        ALERTS, "u", range_from="3", descending=True, limit=1, start_key={"user_id": "u", "alert_id": "4"}
    )
    assert ok.items == []
    with pytest.raises(InvalidCursor):
        backend.query(
            ALERTS, "u", range_from="3", descending=True, limit=1, start_key={"user_id": "u", "alert_id": "2"}
        )
