"""The hunting benchmark's agreement check: a count differing from Zircolite's fails the run unless the
rule reads a field that is one of Zircolite's blind spots on that capture, found from the capture's
own events (so a held-out capture is judged on what it holds, not on a list made for another)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from benchmarks.bench_detection import rule_fields
from benchmarks.bench_hunt import (
    KNOWN_DIVERGENCES,
    CaptureShapes,
    blind_spots,
    capture_as_lines,
    capture_shapes,
    event_files,
    explained,
)
from benchmarks.cloudtrail_gen import CORPUS

EVENT = {
    "eventName": "PutBucketVersioning",
    "requestParameters": {"bucketName": "b", "VersioningConfiguration": {"Status": "Suspended"}},
    "resources": [{"ARN": "arn:aws:s3:::b"}],
    "responseElements": {"publiclyAccessible": True},
    "readOnly": False,
}


def _capture(tmp_path: Path) -> CaptureShapes:
    capture = tmp_path / "capture.jsonl"
    lines = [json.dumps(EVENT), "not json", "[1, 2]", json.dumps({"eventName": "Other"})]
    capture.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return capture_shapes([capture])


def test_the_shapes_are_read_from_the_capture_events(tmp_path: Path) -> None:
    shapes = _capture(tmp_path)
    assert shapes.objects == {"requestparameters", "requestparameters.versioningconfiguration", "responseelements"}
    assert shapes.lists == {"resources"}
    assert shapes.booleans == {"responseelements.publiclyaccessible", "readonly"}


def test_each_blind_spot_is_named_and_plain_fields_have_none(tmp_path: Path) -> None:
    shapes = _capture(tmp_path)
    (whole,) = blind_spots({"requestParameters"}, shapes)
    assert "object-valued field" in whole
    (through,) = blind_spots({"resources.ARN"}, shapes)
    assert "`resources` is a list" in through
    (boolean,) = blind_spots({"responseElements.publiclyAccessible"}, shapes)
    assert "JSON boolean" in boolean
    assert blind_spots({"eventName", "requestParameters.bucketName", "resourcesX"}, shapes) == []


def test_a_blind_spot_explains_only_fewer_matches_from_zircolite(tmp_path: Path) -> None:
    shapes = _capture(tmp_path)
    fields = {"eventName", "requestParameters"}
    assert explained("some_rule", 0, 2, fields, shapes) is not None
    # Zircolite finding more than we do is never one of its blind spots: it fails the run.
    assert explained("some_rule", 3, 2, fields, shapes) is None
    assert explained("some_rule", 0, 2, {"eventName"}, shapes) is None
    stem = "aws_disable_bucket_versioning"
    assert explained(stem, 0, 2, set(), CaptureShapes()) == KNOWN_DIVERGENCES[stem]


def test_on_the_corpus_the_hand_checked_divergences_are_found_from_the_events() -> None:
    """The divergences established event by event, whose fields the corpus holds, are what the
    shapes find; a rule on plain text fields has none."""
    shapes = capture_shapes(event_files(CORPUS / "events"))

    def spots(stem: str) -> list[str]:
        return blind_spots(rule_fields((CORPUS / "rules" / f"{stem}.yml").read_text(encoding="utf-8")), shapes)

    for stem in (
        "aws_disable_bucket_versioning",
        "aws_ec2_vm_export_failure",
        "aws_cloudtrail_guardduty_detector_deleted_or_updated",
    ):
        assert spots(stem), stem
    assert spots("aws_cloudtrail_disable_logging") == []
    assert spots("aws_root_account_usage") == []


def test_a_capture_of_plain_json_lines_is_used_as_it_is(tmp_path: Path) -> None:
    folder = tmp_path / "capture"
    folder.mkdir()
    for name in ("a.jsonl", "b.jsonl"):
        (folder / name).write_text(json.dumps(EVENT) + "\n" + json.dumps({"eventName": "Other"}) + "\n")
    assert capture_as_lines(folder, tmp_path) == (folder, None)
    assert capture_as_lines(folder / "a.jsonl", tmp_path) == (folder / "a.jsonl", None)


def test_a_capture_as_cloudtrail_delivers_it_is_converted_to_the_same_events(tmp_path: Path) -> None:
    folder = tmp_path / "capture"
    folder.mkdir()
    records = [EVENT | {"eventID": f"e{i}", "eventSource": "s3.amazonaws.com"} for i in range(5)]
    (folder / "delivery.json.gz").write_bytes(gzip.compress(json.dumps({"Records": records[:3]}).encode()))
    (folder / "pretty.json").write_text(json.dumps({"Records": records[3:]}, indent=2))
    (folder / "lines.jsonl").write_text(json.dumps({"Records": [records[0]]}) + "\n")  # an envelope per line
    converted, note = capture_as_lines(folder, tmp_path)
    assert converted == tmp_path / "capture.jsonl"
    assert note is not None
    assert "3 files" in note
    assert "6 events" in note
    events = [json.loads(line) for line in converted.read_text().splitlines()]
    assert sorted(event["eventID"] for event in events) == ["e0", "e0", "e1", "e2", "e3", "e4"]
    assert all(event["eventName"] == "PutBucketVersioning" for event in events)
