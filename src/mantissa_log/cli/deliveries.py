"""`mantissa-log deliveries redeliver`: send dead deliveries again (one, an alert's, an integration's)."""

from __future__ import annotations

import typer

from mantissa_log.api.schemas.alerts import RedeliveryResult
from mantissa_log.cli.context import audit_cli, friendly_errors, open_services
from mantissa_log.services.identity import Principal

app = typer.Typer(help="Alert deliveries.", no_args_is_help=True, rich_markup_mode=None)


@app.command("redeliver")
@friendly_errors
def redeliver(
    user: str = typer.Option(..., "--user", help="owner of the alerts"),
    alert: str | None = typer.Option(None, "--alert", help="one alert's dead deliveries"),
    integration: str | None = typer.Option(
        None, "--integration", help="with --alert: only this delivery; alone: every dead delivery to it"
    ),
) -> None:
    """Put dead deliveries back in the queue; they keep their delivery ids (receivers can drop repeats)."""
    if alert is None and integration is None:
        raise typer.BadParameter("name an --alert, an --integration, or both")
    who = Principal(user)
    with open_services() as services:
        if alert is not None:
            done = services.delivery.redeliver(who, alert, integration)
        else:
            assert integration is not None
            services.integrations.get(who, integration)
            done = services.delivery.redeliver_integration(who, integration)
        audit_cli(services, "delivery.redeliver", f"{user}/{alert or '*'}/{integration or '*'}: {done.count}")
    typer.echo(RedeliveryResult.of(done).model_dump_json())
