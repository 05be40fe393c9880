"""Commands for the database itself: `db copy` moves a ledger between backends."""

from __future__ import annotations

from typing import Annotated

import typer

from vitalfile.cli.common import app, out_console, progress_bar
from vitalfile.db import open_store
from vitalfile.ledger.copy import copy_ledger

db_app = typer.Typer(
    help="The database: move a ledger between DuckDB and PostgreSQL.", no_args_is_help=True
)
app.add_typer(db_app, name="db")


@db_app.command("copy")
def copy_cmd(
    source: Annotated[
        str, typer.Option("--from", help="the ledger to copy: a DuckDB path or postgresql:// URL")
    ],
    target: Annotated[
        str, typer.Option("--to", help="an empty database: a DuckDB path or postgresql:// URL")
    ],
) -> None:
    """Copy every commit and event in order (hashes kept), rebuild the projections there;
    both ledgers then verify to the same chain head."""
    with (
        open_store(source) as src,
        open_store(target) as dst,
        progress_bar("copy", None) as advance,
    ):
        result = copy_ledger(src, dst, progress=advance)
    head = result.head
    out_console.print(
        f"copied {result.commits:,} commits, {result.events:,} events; head commit "
        f"{head.commit_no if head else 0} {head.hash[:16] if head else ''} on both"
    )
