"""Commands for the database itself: `db copy` moves a ledger between backends; `db backup`
and `db restore` keep it in a folder and bring it back."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vitalfile.cli.common import app, open_db, out_console, progress_bar, settings
from vitalfile.db import open_store
from vitalfile.errors import ChainBroken
from vitalfile.ledger.backup import backup, restore
from vitalfile.ledger.checkpoint import load_private_key, make_checkpoint, read_checkpoint
from vitalfile.ledger.copy import copy_ledger
from vitalfile.ledger.store import utc_now_text
from vitalfile.ledger.verify import latest_checkpoint, verify_ledger

db_app = typer.Typer(
    help="The database: move a ledger between DuckDB and PostgreSQL; back it up, restore it.",
    no_args_is_help=True,
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


@db_app.command("backup")
def backup_cmd(
    out: Annotated[Path, typer.Option("--out", help="a new (or empty) folder for the backup")],
) -> None:
    """Write every commit and event up to the current chain head (verified) to Parquet files
    with a manifest, and a checkpoint signing that head when the keeper's key is at hand.
    Consistent while the service writes (PostgreSQL): later commits are simply not in it."""
    key_path = settings().key_path
    key = load_private_key(key_path) if key_path.exists() else None
    sign = (lambda head: make_checkpoint(head, key, utc_now_text())) if key else None
    with open_db() as store, progress_bar("backup", None) as advance:
        result = backup(store, out, sign=sign, progress=advance)
    head = result.head
    out_console.print(
        f"backed up {result.commits:,} commits, {result.events:,} events to {out}; head commit "
        f"{head.commit_no if head else 0} {head.hash[:16] if head else ''}"
        + ("; signed (checkpoint.json)" if result.checkpoint else "; not signed (no key)")
    )


@db_app.command("restore")
def restore_cmd(
    folder: Annotated[Path, typer.Argument(help="a folder written by `vitalfile db backup`")],
    target: Annotated[
        str, typer.Option("--to", help="an empty database: a DuckDB path or postgresql:// URL")
    ],
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            help="a checkpoint taken later (or a folder of them: the newest): say how many "
            "commits the restored ledger lacks"
        ),
    ] = None,
) -> None:
    """Bring a backup back into an empty database (all or nothing), rebuild the projections,
    check the chain ends at the backup's head (and its signed checkpoint, when there is one)."""
    later = None
    if checkpoint is not None:
        found = latest_checkpoint(checkpoint) if checkpoint.is_dir() else None
        later = found[1] if found else read_checkpoint(checkpoint)
    key_path = settings().key_path
    with open_store(target) as dst, progress_bar("restore", None) as advance:
        result = restore(folder, dst, later=later, progress=advance)
        own = folder / "checkpoint.json"
        signed = own.exists() and (key_path.exists() or Path(f"{key_path}.pub").exists())
        if signed:  # the backup's own checkpoint, by the keeper's keyring
            report = verify_ledger(dst, read_checkpoint(own), key_path)
            if not report.ok:
                raise ChainBroken(report.problems[0])
        if later is not None and not result.lacks:
            report = verify_ledger(dst, later, key_path)
            if not report.ok:
                raise ChainBroken(report.problems[0])
    head = result.head
    out_console.print(
        f"restored {result.commits:,} commits, {result.events:,} events; head commit "
        f"{head.commit_no if head else 0} {head.hash[:16] if head else ''}"
        + (" (the backup's signed checkpoint verifies)" if signed else "")
    )
    if later is not None:
        if result.lacks:
            out_console.print(
                f"the restored ledger lacks {result.lacks:,} commit(s): the checkpoint names "
                f"commit {later.commit_no}, the backup ends at "
                f"{head.commit_no if head else 0}. Those commits were written after the "
                "backup and are not in it."
            )
        else:
            out_console.print(
                f"the restored ledger holds the checkpoint's commit {later.commit_no}: "
                "it lacks nothing"
            )
