"""`vitalfile daily`: the day's work (disclosure.daily.run_daily), summarised."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from vitalfile.cli.common import app, open_db, out_console
from vitalfile.errors import UsageError
from vitalfile.settings import ApiSettings


@app.command("daily")
def daily_cmd(
    out: Annotated[Path, typer.Option(help="folder for the recipients' update files")],
    checkpoint_dir: Annotated[
        Path | None,
        typer.Option(
            help="where the day's checkpoint-<commit>.json goes (default: the checkpoint_dir "
            "setting, whose newest checkpoint /metrics reports)"
        ),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="dmf, csv or parquet")] = "dmf",
    today: Annotated[
        str | None, typer.Option(help="ISO date to do the work of (default: today, UTC)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """The work due each day, safe to run twice or late: determinations whose contest window
    ended go into effect; each recipient owed an update (or corrections) gets its signed file;
    overdue cases are listed by owner; the day's signed checkpoint is published."""
    from datetime import date

    from vitalfile.cli.policy_cmds import signing_key
    from vitalfile.disclosure.daily import run_daily

    try:
        day = date.fromisoformat(today) if today else None
    except ValueError:
        raise UsageError("not an ISO date (YYYY-MM-DD)", field="today") from None
    key = signing_key(required=True)
    assert key is not None
    with open_db() as store:
        r = run_daily(
            store,
            out,
            key=key,
            on=day,
            fmt=fmt,
            checkpoint_dir=checkpoint_dir or ApiSettings.from_env().checkpoints_folder(),
        )
    if as_json:
        print(json.dumps(r.as_dict()))
        return
    out_console.print(f"daily run for {r.day}")
    out_console.print(f"{len(r.in_effect)} determination(s) now in effect")
    for f in r.files:
        note = " (corrections only)" if f.scope == "corrections" else ""
        out_console.print(
            f"{f.recipient}: {f.records:,} records ({f.adds} A, {f.changes} C, {f.deletes} D)"
            f"{note} -> {f.path}"
        )
    out_console.print(f"{len(r.files)} update file(s) written")
    for owner, cases in sorted(r.overdue.items()):
        out_console.print(f"overdue for {owner or '(unassigned)'}: {', '.join(cases)}")
    out_console.print(f"{sum(len(c) for c in r.overdue.values())} case(s) overdue")
    if r.checkpoint:
        said = "written" if r.checkpoint_written else "already published"
        out_console.print(f"checkpoint of commit {r.checkpoint_commit} {said}: {r.checkpoint}")
    else:
        out_console.print("the ledger is empty: no checkpoint")
