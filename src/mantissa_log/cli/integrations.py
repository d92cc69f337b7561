"""`mantissa-log integrations test ID --user NAME`: a test alert through the real transport."""

from __future__ import annotations

import typer

from mantissa_log.api.schemas.misc import TestSendPublic
from mantissa_log.cli.context import audit_cli, friendly_errors, open_services
from mantissa_log.services.identity import Principal

app = typer.Typer(help="Alert integrations.", no_args_is_help=True, rich_markup_mode=None)


@app.command("test")
@friendly_errors
def send_test(integration_id: str, user: str = typer.Option(..., "--user", help="owner of the integration")) -> None:
    """Send a clearly marked test alert; prints status, HTTP status and message; exit 1 on failure."""
    with open_services() as services:
        result = services.delivery.test_integration(Principal(user), integration_id)
        audit_cli(services, "integration.test", f"{user}/{integration_id}")
    typer.echo(TestSendPublic.of(result).model_dump_json())
    if result.status != "success":
        raise typer.Exit(1)
