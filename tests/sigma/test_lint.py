"""pySigma's validators over many files: each finding names the file and the line of its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from mantissa_log.domain.rule_findings import RuleFinding
from mantissa_log.sigma.lint import LintReport, lint_rules
from mantissa_log.starter_rules import starter_rule_files
from tests.sigma.attack_stix import write_attack_stix
from tests.sigma.conftest import CORPUS

UUID_A = "0b4f7a4e-3c1d-4e6b-9a2f-5d8c7e6f1a01"
UUID_B = "0b4f7a4e-3c1d-4e6b-9a2f-5d8c7e6f1a02"


def rule(title: str, *, rule_id: str | None = None, extra: str = "") -> str:
    head = f"title: {title}\n" + (f"id: {rule_id}\n" if rule_id else "")
    body = "logsource: {product: aws, service: cloudtrail}\ndetection:\n  sel: {eventName: StopLogging}\n"
    return head + body + "  condition: sel\nlevel: high\n" + extra


@pytest.fixture(scope="module")
def attack(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("attack")
    return {"attack_source": str(write_attack_stix(folder / "enterprise-attack.json")), "cache_dir": folder}


def lint(sources: list[tuple[str, str]], attack: dict[str, object]) -> LintReport:
    report = lint_rules(sources, **attack)  # type: ignore[arg-type]
    assert report.skipped == {}
    return report


def test_rule_without_id_is_reported_at_its_title(attack: dict[str, object]) -> None:
    text = "# owner: detection team\n# reviewed\n" + rule("CloudTrail logging stopped")
    assert lint([("rules/no_id_rule.yml", text)], attack).findings == [
        RuleFinding("rules/no_id_rule.yml", 3, "warning", "Rule has no identifier (UUID)", "identifier_existence")
    ]


def test_rule_whose_title_is_elsewhere_is_reported_at_its_first_line(attack: dict[str, object]) -> None:
    # `action: global` gives both rules their title: neither document has a `title` line of its own.
    text = (
        "action: global\ntitle: Global title\nid: " + UUID_A + "\nlogsource: {product: aws, service: cloudtrail}\n"
        "---\ndetection: {sel: {eventName: A}, condition: sel}\n"
    )
    assert lint([("rules/global_rules.yml", text)], attack).findings == []
    without_id = text.replace("id: " + UUID_A + "\n", "")
    assert lint([("rules/global_rules.yml", without_id)], attack).findings == [
        RuleFinding("rules/global_rules.yml", 5, "warning", "Rule has no identifier (UUID)", "identifier_existence")
    ]


def test_same_title_in_two_files_is_an_error_in_both(attack: dict[str, object]) -> None:
    sources = [
        ("a/stop_logging.yml", rule("CloudTrail logging stopped", rule_id=UUID_A)),
        ("b/trail_stopped.yml", "# copied from team a\n" + rule("CloudTrail logging stopped", rule_id=UUID_B)),
    ]
    message = "Rule title used by multiple rules: 'CloudTrail logging stopped' (also {})"
    assert lint(sources, attack).findings == [
        RuleFinding("a/stop_logging.yml", 1, "error", message.format("b/trail_stopped.yml:2"), "duplicate_title"),
        RuleFinding("b/trail_stopped.yml", 2, "error", message.format("a/stop_logging.yml:1"), "duplicate_title"),
    ]


def test_bad_attack_tag_is_reported_at_its_line(attack: dict[str, object]) -> None:
    tags = "tags:\n  - attack.defense-evasion\n  - attack.t9999\n  - attack.t1562.008\n  - attack.t1108\n"
    text = rule("CloudTrail logging stopped", rule_id=UUID_A, extra=tags)
    lines = text.splitlines()
    assert lines[9] == "  - attack.t9999"
    assert lint([("cloudtrail_stop.yml", text)], attack).findings == [
        RuleFinding("cloudtrail_stop.yml", 10, "warning", "Invalid MITRE ATT&CK tagging: attack.t9999", "attacktag"),
        # Revoked in ATT&CK: no longer a valid tag.
        RuleFinding("cloudtrail_stop.yml", 12, "warning", "Invalid MITRE ATT&CK tagging: attack.t1108", "attacktag"),
    ]


def test_duplicate_id_in_a_correlation_document_points_into_that_document(attack: dict[str, object]) -> None:
    correlation = (
        rule("Failed console login", rule_id=UUID_A, extra="name: failed_console_login\n")
        + "---\ntitle: Console brute force\ncorrelation:\n  type: event_count\n  rules: [failed_console_login]\n"
        "  group-by: [userIdentity.userName]\n  timespan: 10m\n  condition: {gte: 5}\nlevel: high\n"
        # Mantissa's own keys are not Sigma; pySigma never sees them.
        "schedule: rate(5 minutes)\nlookback: 1h\ntests:\n  - {match: true, event: {realted: x}}\n"
    )
    sources = [("brute_force.yml", correlation), ("other_rule.yml", rule("Other rule", rule_id=UUID_A))]
    collision = f"Rule identifier used by multiple rules: {UUID_A} (also {{}})"
    assert lint(sources, attack).findings == [
        RuleFinding("brute_force.yml", 2, "error", collision.format("other_rule.yml:2"), "identifier_uniqueness"),
        # The correlation (second document, title on line 10) has no id of its own.
        RuleFinding("brute_force.yml", 10, "warning", "Rule has no identifier (UUID)", "identifier_existence"),
        RuleFinding("other_rule.yml", 2, "error", collision.format("brute_force.yml:2"), "identifier_uniqueness"),
    ]


def test_detection_findings_point_at_the_detection_key(attack: dict[str, object]) -> None:
    text = (
        f"title: Odd rule\nid: {UUID_A}\nlogsource: {{product: aws, service: cloudtrail}}\ndetection:\n"
        '  sel:\n    eventName|all: [StopLogging, DeleteTrail]\n    userAgent: "a\\tb"\n'
        "  unused:\n    eventSource: cloudtrail.amazonaws.com\n  condition: sel\n"
        "tags:\n  - attack.t1562\n  - attack.t1562\n"
    )
    assert [(f.line, f.level, f.check) for f in lint([("odd_rule_file.yml", text)], attack).findings] == [
        (6, "error", "invalid_modifier_combinations"),
        (7, "error", "control_character"),
        (8, "error", "dangling_detection"),
        (13, "warning", "duplicate_tag"),  # the repetition, the line to delete
    ]


def test_unloadable_attack_data_skips_the_check_and_says_why(tmp_path: Path) -> None:
    text = rule("Tagged rule", rule_id=UUID_A, extra="tags:\n  - attack.t9999\n")
    report = lint_rules([("tagged_rule.yml", text)], attack_source=str(tmp_path / "nope.json"), cache_dir=tmp_path)
    assert report.findings == []
    assert report.skipped["attacktag"].startswith("Failed to load MITRE ATT&CK data")


def test_files_pysigma_cannot_load_are_left_to_the_compiler(attack: dict[str, object]) -> None:
    sources = [("broken.yml", "title: [\n"), ("not_sigma.yml", "title: x\nid: not-a-uuid\n")]
    assert lint(sources, attack).findings == []


def test_whole_corpus_lints_without_errors_and_each_finding_is_at_its_tag(attack: dict[str, object]) -> None:
    files = sorted((CORPUS / "rules").glob("*.yml"))
    assert len(files) > 200
    texts = {str(path): path.read_text(encoding="utf-8") for path in files}
    report = lint(list(texts.items()), attack)
    # SigmaHQ's own CI runs these validators; what remains is ATT&CK ids our small test list lacks.
    assert {f.check for f in report.findings} == {"attacktag"}
    assert all(f.level == "warning" for f in report.findings)
    for finding in report.findings:
        tag = finding.message.removeprefix("Invalid MITRE ATT&CK tagging: ")
        assert finding.line is not None
        assert texts[finding.path].splitlines()[finding.line - 1].strip() == f"- {tag}", finding
    disable_logging = str(CORPUS / "rules" / "aws_cloudtrail_disable_logging.yml")
    assert [str(f) for f in report.findings if f.path == disable_logging] == [
        f"{disable_logging}:11: warning: Invalid MITRE ATT&CK tagging: attack.defense-impairment [attacktag]",
        f"{disable_logging}:12: warning: Invalid MITRE ATT&CK tagging: attack.t1685.002 [attacktag]",
    ]


def test_starter_pack_is_clean(attack: dict[str, object]) -> None:
    sources = [(str(path), path.read_text()) for path in starter_rule_files()]
    assert lint(sources, attack).findings == []
