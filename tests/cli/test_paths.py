"""Files named on the command line: which are taken, in which order, each once."""

from __future__ import annotations

from pathlib import Path

import pytest

from mantissa_log.cli.paths import event_files, rule_files
from mantissa_log.errors import ValidationFailed


def test_rule_files_walk_in_order_each_once(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    (rules / "b").mkdir(parents=True)
    (rules / "a.yml").write_text("a")
    (rules / "b" / "c.yaml").write_text("c")
    (rules / "b" / "notes.txt").write_text("not a rule")
    (rules / "z.yml").mkdir()  # a folder named like a rule: not a file
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "d.yml").write_text("d")
    (rules / "link.yml").symlink_to(elsewhere / "d.yml")
    (rules / "broken.yml").symlink_to(tmp_path / "gone.yml")
    (rules / "linked-folder").symlink_to(elsewhere)  # not followed, as rglob does not
    found = rule_files([rules, rules / "a.yml", elsewhere / "d.yml"])
    # The explicit a.yml and d.yml are the walked a.yml and link.yml: each file once, first name kept.
    assert found == [rules / "a.yml", rules / "b" / "c.yaml", rules / "link.yml"]


def test_event_files_skip_hidden_and_keep_order(tmp_path: Path) -> None:
    (tmp_path / "x" / "y").mkdir(parents=True)
    for name in ("x/y/2.jsonl", "x/1.json.gz", "x/.hidden.jsonl", "0.log"):
        (tmp_path / name).write_text("{}")
    expected = [tmp_path / "0.log", tmp_path / "x" / "1.json.gz", tmp_path / "x" / "y" / "2.jsonl"]
    assert event_files([tmp_path]) == expected
    with pytest.raises(ValidationFailed) as missing:
        event_files([tmp_path / "nope"], option="--events")
    assert missing.value.field == "--events"


def test_files_are_ordered_as_paths_are_not_as_their_text(tmp_path: Path) -> None:
    # As text "a-c.jsonl" < "a/b.jsonl" ('-' before '/'); as paths a/b.jsonl comes first (part "a" < "a-c.jsonl").
    for name in ("a.d/e.jsonl", "a-c.jsonl", "a/b.jsonl"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("{}")
    expected = [tmp_path / "a" / "b.jsonl", tmp_path / "a-c.jsonl", tmp_path / "a.d" / "e.jsonl"]
    assert event_files([tmp_path]) == expected
    assert expected == sorted(expected)
