"""What every command needs: the services, built once, and errors shown as one clear line."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console

from mantissa_log.config import load_settings
from mantissa_log.errors import MantissaError
from mantissa_log.services.container import Services, build_services

P = ParamSpec("P")
R = TypeVar("R")
err_console = Console(stderr=True, soft_wrap=True)


@contextmanager
def open_services() -> Iterator[Services]:
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
            err_console.print(f"[red]error:[/red] {exc}", highlight=False)
            sys.stderr.flush()
            raise typer.Exit(2) from None

    return wrapper


def audit_cli(services: Services, action: str, target: str | None = None, detail: dict[str, str] | None = None) -> None:
    services.audit.record(actor="cli", action=action, target=target, client="local", detail=detail)
