"""What every command needs: the services, built once, and errors shown as one clear line."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import typer

from mantissa_log.errors import MantissaError

if TYPE_CHECKING:
    from mantissa_log.services.container import Services

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def open_services() -> Iterator[Services]:
    # Imported here: building the services costs a second of imports a hunt never needs.
    from mantissa_log.config import load_settings
    from mantissa_log.services.container import build_services

    services = build_services(load_settings())
    try:
        yield services
    finally:
        services.close()


def friendly_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Our errors become `error: <message> (field ...)` and exit code 2; no traceback."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except MantissaError as exc:
            from rich.console import Console

            Console(stderr=True, soft_wrap=True).print(f"[red]error:[/red] {exc}", highlight=False)
            sys.stderr.flush()
            raise typer.Exit(2) from None

    return wrapper


def audit_cli(services: Services, action: str, target: str | None = None, detail: dict[str, str] | None = None) -> None:
    services.audit.record(actor="cli", action=action, target=target, client="local", detail=detail)
