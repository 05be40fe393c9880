"""What every command shares: the app, the database option, progress bars, error lines."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from vitalfile.db import open_store
from vitalfile.errors import VitalfileError
from vitalfile.ledger.store import Store
from vitalfile.settings import Settings

__all__ = ["app", "err_console", "open_db", "print_error", "progress_bar", "settings"]

app = typer.Typer(
    help="vitalfile: a vital-status master file kept as an append-only, signed ledger.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)
out_console = Console(highlight=False, soft_wrap=True)
_state: dict[str, object] = {}


@app.callback()
def _root(
    db: Annotated[
        str | None,
        typer.Option("--db", envvar="VITALFILE_DB", help="DuckDB file, or a postgresql:// URL"),
    ] = None,
    key: Annotated[
        Path | None,
        typer.Option("--key", envvar="VITALFILE_KEY_PATH", help="the keeper's Ed25519 key"),
    ] = None,
    log_level: Annotated[
        str, typer.Option("--log-level", envvar="VITALFILE_LOG_LEVEL", help="logging level")
    ] = "WARNING",
) -> None:
    logging.basicConfig(
        level=getattr(logging, log_level.upper(), logging.WARNING),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    _state["settings"] = Settings.from_env(db=db, key_path=key)


def settings() -> Settings:
    s = _state.get("settings")
    return s if isinstance(s, Settings) else Settings.from_env()


@contextmanager
def open_db() -> Iterator[Store]:
    store = open_store(settings().db)
    try:
        yield store
    finally:
        store.close()


def print_error(exc: VitalfileError) -> None:
    """One line: `error[code] where: message` (never personal data: messages carry none)."""
    err_console.print(f"error[{exc.code}] {exc}", markup=False)


@contextmanager
def progress_bar(description: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    """A Rich progress bar on stderr; yields `advance(n)`."""
    columns = [
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    ]
    # only on a terminal: piped output and logs stay one line per message
    with Progress(
        *columns, console=err_console, transient=False, disable=not err_console.is_terminal
    ) as progress:
        task = progress.add_task(description, total=total)

        def advance(n: int) -> None:
            progress.advance(task, n)

        yield advance
