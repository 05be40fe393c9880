"""Commands for the ledger and the keeper's key: verify, checkpoint; keys init, rotate,
export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vitalfile.cli.common import app, open_db, out_console, progress_bar, settings
from vitalfile.disclosure.deliveries import check_delivered
from vitalfile.errors import ChainBroken, UsageError
from vitalfile.ledger.checkpoint import (
    export_keyring,
    init_key,
    keyring_path,
    load_private_key,
    read_checkpoint,
    rotate_key,
)
from vitalfile.ledger.verify import checkpoint_now, verify_ledger

ledger_app = typer.Typer(help="The append-only ledger.", no_args_is_help=True)
keys_app = typer.Typer(help="The keeper's signing key.", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")
app.add_typer(keys_app, name="keys")


@ledger_app.command("verify")
def verify_cmd(
    checkpoint: Annotated[
        Path | None, typer.Option(help="a signed checkpoint the ledger must still extend")
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(help="a delivered file: check it is byte for byte what was delivered"),
    ] = None,
    keyring: Annotated[
        Path | None,
        typer.Option(
            help="the keeper's keyring (`vitalfile keys export`); default: the one beside --key"
        ),
    ] = None,
) -> None:
    """Recompute the hash chain; exit 1 naming the first commit that does not match.

    With --checkpoint: its signature, and that the ledger still extends it. With --file too:
    that the file is byte for byte the delivery the checkpoint (signed) and the ledger name.
    """
    if file is not None and checkpoint is None:
        raise UsageError("--file is checked against a --checkpoint (its sidecar)", field="file")
    cp = read_checkpoint(checkpoint) if checkpoint else None
    with open_db() as store, progress_bar("ledger verify") as bar:
        bar.step("hashing")
        report = verify_ledger(store, cp, (keyring or settings().key_path) if cp else None)
        bar(report.events)
        if report.ok and cp is not None and file is not None:
            bar.step("the delivered file")
            check_delivered(store, cp.delivery, file)
    if not report.ok:
        raise ChainBroken(report.problems[0])
    rate = report.events / report.seconds if report.seconds else 0.0
    head = report.head
    out_console.print(
        f"ok: {report.commits:,} commits, {report.events:,} events "
        f"({rate:,.0f} events/s); head commit {head.commit_no if head else 0} "
        f"{head.hash[:16] if head else ''}"
        + (" extends the checkpoint" if cp else "")
        + (f"; {file.name} is the delivered file" if file else "")
    )


@ledger_app.command("checkpoint")
def checkpoint_cmd(
    out: Annotated[
        Path | None,
        typer.Option(
            help="write it here (default: print); a folder gets checkpoint-<commit>.json "
            "(the service's checkpoint_dir: /metrics reports the newest one's age)"
        ),
    ] = None,
) -> None:
    """Sign the chain head with the keeper's key: a checkpoint to hold outside."""
    key = load_private_key(settings().key_path)
    with open_db() as store:
        cp = checkpoint_now(store, key)
    if out and out.is_dir():
        out = out / f"checkpoint-{cp.commit_no}.json"
    if out:
        out.write_text(cp.to_json())
        out_console.print(f"checkpoint of commit {cp.commit_no} written to {out}")
    else:
        print(cp.to_json(), end="")


@keys_app.command("init")
def keys_init(
    force: Annotated[bool, typer.Option(help="replace an existing key")] = False,
) -> None:
    """Make the keeper's Ed25519 signing key (private PEM, and .pub beside it)."""
    path = settings().key_path
    key_id = init_key(path, overwrite=force)
    out_console.print(f"key {key_id} written to {path} (public key {path}.pub)")


@ledger_app.command("mark-production")
def mark_production_cmd(
    by: Annotated[str, typer.Option(help="who marks it (recorded)")],
) -> None:
    """Mark this database as production, once and for good: the test clock
    (VITALFILE_TEST_CLOCK) is refused on it from then on."""
    from vitalfile.ledger.clock import mark_production

    if not by.strip():
        raise UsageError("name who marks the database", field="by")
    with open_db() as store:
        marked = mark_production(store, by=by.strip())
    out_console.print("marked as production" if marked else "already production")


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Make a new signing key and retire the current one (its public key stays in the
    keyring, marked retired now): what was signed before still verifies; a checkpoint the
    old key signs from now on is refused. Send recipients the new keyring (`keys export`)."""
    path = settings().key_path
    old_id, new_id = rotate_key(path)
    out_console.print(
        f"key {new_id} now signs ({path}); key {old_id} retired; keyring {keyring_path(path)}"
    )


@keys_app.command("export")
def keys_export(
    out: Annotated[Path | None, typer.Option(help="write it here (default: print)")] = None,
) -> None:
    """The keyring for recipients: every public key the keeper signed with (id, PEM, made,
    retired), to check any checkpoint or file with `ledger verify --keyring`."""
    ring = export_keyring(settings().key_path)
    if out:
        out.write_text(ring.to_json())
        out_console.print(f"keyring of {len(ring.keys)} key(s) written to {out}")
    else:
        print(ring.to_json(), end="")
