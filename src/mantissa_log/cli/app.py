"""The `mantissa-log` Typer application.

Commands are listed here with their one-line help and loaded only when run: `--help` starts in a
fraction of a second instead of importing the web server, the services and pySigma. (`hunt` does not
come through here at all: see `cli/main.py`.)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperCommand, TyperGroup

if TYPE_CHECKING:  # the Click that Typer vendors (its own Context type)
    from typer._click.core import Context

# name -> (module, attribute: a command function or a Typer group, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "init": ("mantissa_log.cli.init", "init_command", "Provision tables, buckets and keys (admin credentials)."),
    "serve": ("mantissa_log.cli.serve", "serve_command", "Serve the HTTP API and the worker loops."),
    "worker": ("mantissa_log.cli.worker", "worker_command", "Run detection, delivery and housekeeping loops."),
    "healthcheck": ("mantissa_log.cli.worker", "healthcheck_command", "Exit 0 if serve (or --worker) is healthy."),
    "ingest": ("mantissa_log.cli.logs", "ingest_command", "Load log files into the lake."),
    "hunt": ("mantissa_log.cli.hunt", "run_hunt", "Scan log files with Sigma rules, no server needed."),
    "ask": ("mantissa_log.cli.ask", "ask_command", "Ask the logs a question in plain English (your LLM)."),
    "rules": ("mantissa_log.cli.rules", "app", "Detection rules: validate, test, import, run."),
    "integrations": ("mantissa_log.cli.integrations", "app", "Alert integrations: test sends."),
    "deliveries": ("mantissa_log.cli.deliveries", "app", "Alert deliveries: redeliver dead ones."),
    "collectors": ("mantissa_log.cli.collectors", "app", "Log collectors: CloudTrail, Okta, GitHub, M365, Workspace."),
    "users": ("mantissa_log.cli.users", "app", "Users and API tokens."),
    "audit": ("mantissa_log.cli.admin", "audit_app", "The hash-chained audit log."),
    "secrets": ("mantissa_log.cli.admin", "secrets_app", "Secret store and master key."),
    "backup": ("mantissa_log.cli.admin", "backup_command", "Write every table and rule body to an archive."),
    "restore": ("mantissa_log.cli.admin", "restore_command", "Replace everything with an archive's content."),
    "purge-expired": ("mantissa_log.cli.admin", "purge_command", "Remove items whose TTL has passed."),
}


# Commands that parse their own arguments (argparse; see cli/main.py): Typer lists them and hands
# them everything after their name.
SELF_PARSED = frozenset({"hunt"})


class SelfParsedCommand(TyperCommand):
    def __init__(self, name: str, help_text: str) -> None:
        settings = {"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []}
        super().__init__(name, help=help_text, short_help=help_text, context_settings=settings)

    def invoke(self, ctx: Context) -> Any:
        module, attribute, _ = COMMANDS[str(self.name)]
        raise typer.Exit(getattr(importlib.import_module(module), attribute)(list(ctx.args)))


def _load(name: str) -> TyperCommand | TyperGroup:
    module, attribute, _ = COMMANDS[name]
    if name in SELF_PARSED:
        return SelfParsedCommand(name, COMMANDS[name][2])
    target: Any = getattr(importlib.import_module(module), attribute)
    if isinstance(target, typer.Typer):
        group = typer.main.get_group(target)
        group.name = name
        return group
    single = typer.Typer(rich_markup_mode=None)
    single.command(name)(target)
    command = typer.main.get_command(single)
    assert isinstance(command, TyperCommand)
    return command


class LazyCommand(TyperCommand):
    """Stands in for a command in listings (its help is known); anything else loads the real one."""

    def __init__(self, name: str, help_text: str) -> None:
        super().__init__(name, help=help_text, short_help=help_text)
        self._real: TyperCommand | TyperGroup | None = None

    def real(self) -> TyperCommand | TyperGroup:
        if self._real is None:
            self._real = _load(str(self.name))
        return self._real

    def make_context(
        self, info_name: str | None, args: list[str], parent: Context | None = None, **extra: Any
    ) -> Context:
        return self.real().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx: Context) -> Any:
        return self.real().invoke(ctx)


class LazyGroup(TyperGroup):
    def list_commands(self, ctx: Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Context, cmd_name: str) -> TyperCommand | None:
        if cmd_name not in COMMANDS:
            return None
        return LazyCommand(cmd_name, COMMANDS[cmd_name][2])


# Plain help and usage errors (rich_markup_mode=None, on every Typer app of the CLI): formatting them
# with Rich took `--help` from 0.14 s to 0.42 s. Commands still print their own output with Rich.
app = typer.Typer(
    cls=LazyGroup,
    help="Mantissa Log: a self-hostable SIEM core.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def _root() -> None:
    """Mantissa Log: a self-hostable SIEM core."""
