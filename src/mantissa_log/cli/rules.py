"""`mantissa-log rules ...`: validate, test, import and run rules from the command line."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from mantissa_log.api.schemas.rules import RunResultPublic
from mantissa_log.cli.context import audit_cli, friendly_errors, open_services
from mantissa_log.cli.paths import rule_files
from mantissa_log.clock import as_utc, iso_us
from mantissa_log.config import load_settings
from mantissa_log.domain.common import NAME_RE
from mantissa_log.domain.rule_document import parse_rule_document
from mantissa_log.domain.rule_findings import RuleFinding
from mantissa_log.errors import ConfigError, MantissaError, SecretStoreError, StoreError
from mantissa_log.services.container import Services
from mantissa_log.services.detection.rules import RuleWrite
from mantissa_log.services.detection.validation import RuleFilesReport, check_rule_files
from mantissa_log.services.identity import Principal

app = typer.Typer(help="Detection rules.", no_args_is_help=True, rich_markup_mode=None)
console = Console(soft_wrap=True)  # long paths stay on one line: greppable


def rule_name_for(path: Path, body: str) -> str:
    """The name an imported rule gets; the same in every process, so importing a folder again conflicts.

    The file stem in the characters names allow; a stem with none of them (e.g. not Latin) falls back
    to the Sigma id, then to a digest of the stem.
    """
    stem = "".join(c if (c.isascii() and c.isalnum()) or c in "._-" else "_" for c in path.stem)
    stem = stem.lstrip("._-")[:128]  # a name starts with a letter or digit
    if NAME_RE.match(stem):
        return stem
    try:
        rule_id = parse_rule_document(body).rule_id
    except MantissaError:
        rule_id = None  # the import refuses the body anyway; any stable name will do
    if rule_id and NAME_RE.match(f"rule-{rule_id}"):
        return f"rule-{rule_id}"
    return "rule-" + hashlib.sha256(path.stem.encode()).hexdigest()[:16]


@app.command("validate")
@friendly_errors
def validate(
    paths: list[Path],
    strict: bool = typer.Option(False, "--strict", help="warnings fail too, and so does a check that could not run"),
    attack_data: str | None = typer.Option(
        None, "--attack-data", help="MITRE enterprise-attack.json (file or URL); default: MANTISSA_ATTACK_DATA"
    ),
) -> None:
    """Parse and compile each rule file, then run pySigma's validators over all of them together.

    One line per finding, `path:line: error|warning: message [check]`. Exit 1 on any error (duplicate
    id or title, a rule that does not compile, ...); warnings (style, tags) only with --strict.
    """
    settings = load_settings()
    sources = [(str(path), path.read_text()) for path in rule_files(paths)]
    report = check_rule_files(
        sources, strict=strict, attack_data=attack_data or settings.attack_data, cache_dir=settings.cache_dir
    )
    _print_report(report)
    if report.failed:
        raise typer.Exit(1)


def _print_report(report: RuleFilesReport) -> None:
    for file in report.files:
        if file.validated is not None and not file.failed:
            what = f"{file.validated.source}, {file.validated.document.severity}"
            console.print(f"{escape(file.path)}: [green]ok[/green] ({what})", highlight=False)
        for finding in file.findings:
            _print_finding(finding)
    level = "[red]error[/red]" if report.strict else "[yellow]warning[/yellow]"
    for check, reason in report.skipped.items():
        console.print(f"{level}: check {check} not run: {escape(reason)}", highlight=False)
    if "attacktag" in report.skipped:
        console.print("  (offline? point --attack-data or MANTISSA_ATTACK_DATA at a copy of enterprise-attack.json)")
    counts = [(len(report.files), "file"), (report.errors, "error"), (report.warnings, "warning")]
    summary = ", ".join(f"{n} {noun}" if n == 1 else f"{n} {noun}s" for n, noun in counts)
    console.print(summary + (f", {len(report.skipped)} check(s) not run" if report.skipped else ""))


def _print_finding(finding: RuleFinding) -> None:
    level = "[red]error[/red]" if finding.level == "error" else "[yellow]warning[/yellow]"
    text = f"{escape(finding.where)}: {level}: {escape(finding.message)} {escape(f'[{finding.check}]')}"
    console.print(text, highlight=False)


@app.command("test")
@friendly_errors
def test(paths: list[Path]) -> None:
    """Run each rule's own `tests:` (exit 1 if any test fails or a rule does not compile)."""
    failed = 0
    with open_services() as services:
        failed = _run_rule_tests(services, rule_files(paths))
    if failed:
        raise typer.Exit(1)


def _run_rule_tests(services: Services, paths: list[Path]) -> int:
    failed = 0
    for path in paths:
        try:
            outcomes = services.detection.test_text(path.read_text())
        except MantissaError as exc:
            failed += 1
            console.print(f"[red]error[/red] {path}: {exc}", highlight=False)
            continue
        for outcome in outcomes:
            mark = "[green]pass[/green]" if outcome.passed else "[red]FAIL[/red]"
            expected = "match" if outcome.expected_match else "no match"
            console.print(f"{mark} {path} :: {outcome.name} (expected {expected})", highlight=False)
            failed += not outcome.passed
    return failed


@app.command("import")
@friendly_errors
def import_rules(
    paths: list[Path] = typer.Argument(None),
    user: str = typer.Option(..., "--user", help="owner of the imported rules"),
    enable: bool = typer.Option(True, "--enable/--disable", help="schedule them right away"),
    starter: bool = typer.Option(False, "--starter", help="also import Mantissa Log's own starter rule pack"),
    since: datetime | None = typer.Option(
        None, "--since", help="backfill: the first run covers what was ingested since this ISO time (default: now on)"
    ),
) -> None:
    """Import Sigma rule files or directories (plain SigmaHQ rules work); report what was refused."""
    from mantissa_log.starter_rules import starter_rule_files

    paths = list(paths or []) + (starter_rule_files() if starter else [])
    if not paths:
        raise typer.BadParameter("name rule files or directories, or use --starter")
    imported = refused = 0
    with open_services() as services:
        who = Principal(user)
        if not services.users.exists(user):
            raise typer.BadParameter(f"no user {user}; create it with `mantissa-log users create {user}`")
        for path in rule_files(paths):
            try:
                body = path.read_text()
                write = RuleWrite(
                    rule_name=rule_name_for(path, body),
                    body=body,
                    enabled=enable,
                    since=None if since is None else iso_us(as_utc(since)),
                )
                services.rules.create(who, write, "cli")
                imported += 1
                console.print(f"[green]imported[/green] {escape(str(path))} as {write.rule_name}", highlight=False)
            except (StoreError, SecretStoreError, ConfigError):
                raise  # the installation is broken, not this rule: stop, and exit non-zero
            except MantissaError as exc:
                refused += 1
                console.print(f"[yellow]refused[/yellow] {path}: {exc}", highlight=False)
        audit_cli(services, "rule.import", f"{imported} rules for {user}")
    console.print(f"imported {imported} rules, refused {refused}")


@app.command("run")
@friendly_errors
def run(
    rule_name: str,
    user: str = typer.Option(..., "--user"),
    since: datetime | None = typer.Option(None, help="ISO time; default: since the rule's watermark"),
    until: datetime | None = typer.Option(None, help="ISO time; default: now"),
) -> None:
    """Run one rule now and print the result as JSON."""
    with open_services() as services:
        result = services.detection.run_now(Principal(user), rule_name, since=_utc(since), until=_utc(until))
        audit_cli(services, "rule.run", f"{user}/{rule_name}")
    typer.echo(json.dumps(RunResultPublic.of(result).model_dump(), indent=2))


def _utc(value: datetime | None) -> datetime | None:
    """A command-line time: naive means UTC; an offset is converted."""
    return None if value is None else as_utc(value)
