"""`mantissa-log ask "..." --user U`: a question in plain English, answered from the lake by the user's own LLM."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mantissa_log.api.schemas.query import QueryAnswerPublic
from mantissa_log.cli.context import friendly_errors, open_services
from mantissa_log.errors import MantissaError, NotFound, QueryRefused
from mantissa_log.services.identity import Principal

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)
SHOWN_CELL_CHARS = 80


@friendly_errors
def ask_command(
    question: str = typer.Argument(..., help="the question, in plain English"),
    user: str = typer.Option(..., "--user", "-u", help="whose LLM settings, key and history to use"),
    conversation: str | None = typer.Option(None, "--conversation", "-c", help="follow up in this conversation"),
    sql: bool = typer.Option(False, "--sql", help="QUESTION is SQL to run through the guard (no model)"),
    output: str = typer.Option("table", "--format", "-f", help="table or json"),
) -> None:
    """Ask the logs a question: prints the SQL that ran, the model's explanation and the rows.

    Uses the user's settings (llm_provider, llm_model or preferences.query_model, the stored key);
    see docs/LLM.md. A refused query exits with code 2 and the reason.
    """
    if output not in ("table", "json"):
        raise typer.BadParameter("use table or json", param_hint="--format")
    with open_services() as services:
        if not services.users.exists(user):
            raise NotFound(f"no user {user}", field="--user")
        who = Principal(user, client="cli")
        action = "query.sql" if sql else "query.ask"
        try:
            answer = (
                services.query.run_sql(who, question, conversation)
                if sql
                else services.query.ask(who, question, conversation)
            )
        except MantissaError as exc:
            services.audit.record(
                actor="cli",
                action=action,
                target=user,
                outcome="failure",
                client="local",
                detail={"user": user, "outcome": exc.code},
            )
            if isinstance(exc, QueryRefused) and exc.sql:
                err_console.print(f"[dim]{escape(exc.sql)}[/dim]", highlight=False)
            raise
        services.audit.record(
            actor="cli",
            action=action,
            target=user,
            client="local",
            detail={
                "user": user,
                "conversation_id": answer.conversation_id or "",
                "rows": str(answer.row_count),
                "sql": answer.sql[:2000],
            },
        )
    shown = QueryAnswerPublic.of(answer)
    if output == "json":
        typer.echo(json.dumps(shown.model_dump(mode="json")))
        return
    console.print(f"[bold]SQL[/bold]\n{escape(answer.sql)}\n", highlight=False)
    if answer.explanation:
        console.print(escape(answer.explanation) + "\n", highlight=False)
    table = Table(*[c.name for c in answer.columns])
    for row in answer.rows:
        table.add_row(*[escape(_cell(value)) for value in row])
    console.print(table)
    more = f" (cut at {answer.row_limit})" if answer.truncated else ""
    cached = ", cached" if answer.cached else ""
    console.print(
        f"{answer.row_count} rows{more}; conversation {answer.conversation_id}; "
        f"{answer.input_tokens}+{answer.output_tokens} tokens{cached}",
        highlight=False,
    )


def _cell(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= SHOWN_CELL_CHARS else text[:SHOWN_CELL_CHARS] + "…"
