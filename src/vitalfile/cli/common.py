"""What every command shares: the app, the database option, progress bars, error lines."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from vitalfile.db import open_store
from vitalfile.errors import VitalfileError
from vitalfile.ledger.store import Store
from vitalfile.logs import configure as configure_logging
from vitalfile.settings import Settings

__all__ = [
    "AS_OF_HELP",
    "Bar",
    "app",
    "err_console",
    "log_options",
    "open_db",
    "print_error",
    "progress_bar",
    "settings",
]

# one meaning of "as of" everywhere: vitalfile.dates.as_of
AS_OF_HELP = "as it stood then: an ISO day (the end of that day, UTC) or an ISO time"

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
    log_format: Annotated[
        str,
        typer.Option("--log-format", envvar="VITALFILE_LOG_FORMAT", help="log lines: text or json"),
    ] = "text",
) -> None:
    configure_logging(log_level, log_format)
    _state["settings"] = Settings.from_env(db=db, key_path=key)
    _state["log"] = (log_level, log_format)


def log_options() -> tuple[str, str]:
    """The global --log-level and --log-format, as given."""
    given = _state.get("log")
    return given if isinstance(given, tuple) else ("WARNING", "text")


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


class _RowsPerSecond(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} rows/s" if speed else "", style="progress.data.speed")


class Bar:
    """What a long command reports to: `bar(n)` (n more rows) or `bar.step(name, n)` (now in
    step `name`, n more rows in it). A Rich bar on a terminal; otherwise a plain, flushed
    line per step and at most one a few seconds, so piped output shows the work going on."""

    PLAIN_EVERY_S = 5.0

    def __init__(self, description: str, total: int | None, progress: Progress | None) -> None:
        self.description = description
        self.total = total
        self.rows = 0  # rows in the current step
        self.most = 0  # most rows any step saw: what the steps after reading go through
        self.started = time.perf_counter()
        self._step = ""
        self._progress = progress
        self._task = progress.add_task(description, total=total) if progress is not None else None
        self._said = self.started

    def __call__(self, n: int) -> None:
        self.step(self._step, n)

    def step(self, name: str, n: int = 0) -> None:
        new_step = name != self._step
        if new_step:
            self._step, self.rows = name, 0
        self.rows += n
        self.most = max(self.most, self.rows)
        self._show(new_step=new_step)

    def _show(self, *, new_step: bool) -> None:
        label = f"{self.description} · {self._step}" if self._step else self.description
        total = self.total or (self.most if self._step not in ("", "read") else None) or None
        if self._progress is not None and self._task is not None:
            if new_step:
                self._progress.reset(self._task, total=total, description=label)
            self._progress.update(self._task, completed=self.rows, total=total)
            return
        now = time.perf_counter()
        if new_step or now - self._said >= self.PLAIN_EVERY_S:
            self._said = now
            err_console.print(
                f"{label}: {self.rows:,} rows, {now - self.started:.1f} s", markup=False
            )
            err_console.file.flush()

    def summary(self) -> str:
        took = time.perf_counter() - self.started
        rows = max(self.most, self.rows)
        rate = f", {rows / took:,.0f} rows/s" if rows and took > 0 else ""
        return f"{self.description}: {rows:,} rows in {took:.1f} s{rate}"


@contextmanager
def progress_bar(description: str, total: int | None = None) -> Iterator[Bar]:
    """A progress display on stderr (Rich on a terminal, plain lines otherwise); yields the
    `Bar` to report to, and ends with one line: what was done and how long it took."""
    if not err_console.is_terminal:
        bar = Bar(description, total, None)
        yield bar
        err_console.print(bar.summary(), markup=False)
        err_console.file.flush()
        return
    columns = [
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _RowsPerSecond(),
        TimeElapsedColumn(),
    ]
    with Progress(*columns, console=err_console, transient=True) as progress:
        bar = Bar(description, total, progress)
        yield bar
    err_console.print(bar.summary(), markup=False)
