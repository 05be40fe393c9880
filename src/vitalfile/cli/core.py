"""Commands for the file itself: synth, people load, load, ingest, status, extract, demo."""

from __future__ import annotations

import json
from contextlib import closing
from pathlib import Path
from typing import Annotated, Any

import typer

from vitalfile.cli.common import (
    AS_OF_HELP,
    app,
    err_console,
    open_db,
    out_console,
    progress_bar,
    settings,
)
from vitalfile.disclosure.distribute import extract_full, extract_update
from vitalfile.errors import NotFound, UsageError
from vitalfile.events import SOURCE_KINDS
from vitalfile.intake.dmf_load import load_dmf_full
from vitalfile.intake.people import load_people_file
from vitalfile.intake.pipeline import intake_for
from vitalfile.intake.reports import ingest_file
from vitalfile.intake.vrdr import VrdrIngestResult
from vitalfile.master.asof import upto_seq
from vitalfile.master.projection import find_person_ids, status_of
from vitalfile.ssn import parse as parse_ssn

LAYOUT_HELP = (
    "DMF layout: 2011 (columns 82-100 blank) or 1980 (pre-2011: state and ZIP of residence, "
    "ZIP of lump-sum payment); default: either, per line"
)

people_app = typer.Typer(help="The people on file.", no_args_is_help=True)
extract_app = typer.Typer(help="Files for recipients (DMF layout).", no_args_is_help=True)
app.add_typer(people_app, name="people")
app.add_typer(extract_app, name="extract")
reports_app = typer.Typer(help="The reports on file.", no_args_is_help=True)
app.add_typer(reports_app, name="reports")


@app.command()
def synth(
    out: Annotated[Path, typer.Option(help="folder for people.csv, reports.csv, truth.csv")],
    people: Annotated[int, typer.Option(help="people in the population")] = 100_000,
    months: Annotated[int, typer.Option(help="months of deaths and reports")] = 2,
    seed: Annotated[int, typer.Option(help="random seed (same seed, same files)")] = 1,
    vrdr: Annotated[
        bool,
        typer.Option(
            "--vrdr",
            help="also write the state reports as VRDR submission messages, with a few "
            "updates and voids (vrdr.ndjson)",
        ),
    ] = False,
) -> None:
    """Make a synthetic population, death reports with realistic errors, and their truth."""
    from vitalfile.synth import write_synth

    if people < 1 or months < 1:
        raise UsageError("--people and --months must be at least 1")
    counts: dict[str, Any] = dict(write_synth(out, people=people, months=months, seed=seed))
    if vrdr:
        from vitalfile.synth.vrdr import write_vrdr_from_csv

        counts.update(write_vrdr_from_csv(out / "reports.csv", out, seed=seed))
    out_console.print_json(json.dumps(counts, default=str))


@people_app.command("load")
def people_load(file: Annotated[Path, typer.Argument(help="canonical people CSV")]) -> None:
    """Register the people of a canonical people CSV (refused whole on any bad record)."""
    _exists(file)
    with open_db() as store, progress_bar("people load", None) as bar:
        result = load_people_file(
            store, file, commit_size=settings().commit_size, progress=bar.step
        )
    out_console.print(
        f"registered {result.registered:,} people ({result.already_on_file:,} already on file)"
    )


@app.command()
def load(
    file: Annotated[Path, typer.Argument(help="an existing DMF full file")],
    layout: Annotated[str | None, typer.Option(help=LAYOUT_HELP)] = None,
) -> None:
    """Initial load of a DMF full file: each record a person and a death (V/P kept)."""
    _exists(file)
    with open_db() as store, progress_bar("load", None) as bar:
        result = load_dmf_full(
            store, file, commit_size=settings().commit_size, progress=bar.step, layout=layout
        )
    out_console.print(
        f"loaded {result.records:,} records in {result.commits} commits (layout {result.layout})"
    )


@app.command()
def ingest(
    file: Annotated[
        Path,
        typer.Argument(
            help="death reports: DMF layout, canonical CSV, or FHIR VRDR (a JSON file, "
            "NDJSON, or a folder of JSON files)"
        ),
    ],
    source_kind: Annotated[
        str, typer.Option(help=f"one of {', '.join(SOURCE_KINDS)} (a CSV column wins)")
    ] = "state",
    source_id: Annotated[
        str,
        typer.Option(
            help="who sent it (a CSV column wins; default: the file name, or for VRDR each "
            "record's jurisdiction)"
        ),
    ] = "",
    quarantine: Annotated[
        bool, typer.Option(help="write the good records, set the bad ones aside")
    ] = False,
    rejects: Annotated[Path | None, typer.Option(help="where --quarantine writes rejects")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the counts as JSON")] = False,
    ack_dir: Annotated[
        Path | None,
        typer.Option(
            envvar="VITALFILE_ACK_DIR",
            help="VRDR: outbox folder for one acknowledgement (or extraction error) per message",
        ),
    ] = None,
    linker: Annotated[
        str | None,
        typer.Option(
            envvar="VITALFILE_LINKER",
            help="splink (the trained model, the default) or rule (exact SSN, birth date, "
            "last name); the holds that protect living people apply to both",
        ),
    ] = None,
    engine: Annotated[
        str | None,
        typer.Option(envvar="VITALFILE_ENGINE", help="where the model runs: duckdb or spark"),
    ] = None,
    layout: Annotated[str | None, typer.Option(help=LAYOUT_HELP)] = None,
) -> None:
    """Take in death reports: screen, link, post deaths; all or nothing.

    VRDR update and void messages change the state's earlier record (and the death follows).
    """
    _exists(file)
    intake = intake_for(linker, engine=engine)
    with open_db() as store, progress_bar("ingest", None) as advance, closing(intake):
        result = ingest_file(
            store,
            file,
            source_kind=source_kind,
            source_id=source_id,
            quarantine=quarantine,
            rejects_path=rejects,
            progress=advance,
            ack_dir=ack_dir,
            linker=intake,
            layout=layout,
        )
    if as_json:
        out_console.print_json(json.dumps(result.as_dict()))
    else:
        out_console.print(
            f"received {result.received:,} (duplicates {result.duplicates:,}, rejected "
            f"{result.rejected:,}): linked {result.linked:,}, held {result.held:,}, unlinked "
            f"{result.unlinked:,}; deaths posted V {result.posted_v:,} P {result.posted_p:,}"
        )
        if result.unmatched_by_source:
            by = ", ".join(f"{k} {n:,}" for k, n in sorted(result.unmatched_by_source.items()))
            out_console.print(
                f"matched no one: {by} (`vitalfile reports unmatched`); research cases opened "
                f"for state certificates: {result.research:,}"
            )
        if isinstance(result, VrdrIngestResult):
            out_console.print(
                f"VRDR: {result.bundles:,} bundles; amended {result.amended:,}, voided "
                f"{result.voided:,}; deaths retracted {result.deaths_retracted:,}, updated "
                f"{result.deaths_updated:,}; acknowledgements {result.acks:,}, extraction "
                f"errors {result.extraction_errors:,}"
            )


@app.command()
def status(
    ssn: Annotated[str, typer.Option(help="the person's SSN")],
    as_of: Annotated[str | None, typer.Option(help=AS_OF_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """A person's vital status now, or as of a past time."""
    digits = parse_ssn(ssn, field="ssn")
    with open_db() as store:
        upto = upto_seq(store, as_of)
        ids = find_person_ids(store, digits)
        states = [status_of(store, pid, upto_seq=upto) for pid in ids]
        states = [s for s in states if s.person is not None]
    if not states:
        raise NotFound("no person with this SSN on file" + (" at that time" if as_of else ""))
    out: list[dict[str, Any]] = []
    for s in states:
        d = s.death
        alive = d is None or d.status != "current"
        out.append(
            {
                "person_id": s.person_id,
                "status": "alive" if alive else "deceased",
                "date_of_death": None if alive or d is None else d.dod,
                "verification": None if alive or d is None else d.proof,
                "reports": [] if d is None or alive else d.report_keys,
                "sources": [] if d is None or alive else d.sources,
                "retracted": d is not None and d.status == "retracted",
                "as_of": as_of,
            }
        )
    if as_json:
        out_console.print_json(json.dumps(out if len(out) > 1 else out[0]))
        return
    for o in out:
        line = f"person {o['person_id']}: {o['status']}"
        if o["status"] == "deceased":
            line += f", died {o['date_of_death']} ({o['verification'] or 'no proof code'})"
            line += f", {len(o['reports'])} report(s)"
        out_console.print(line)


_KEEPER_PURPOSE = "the keeper's own extract: its purpose (required without --recipient)"
_KEEPER_AUTHORITY = "the keeper's own extract: its legal authority (required without --recipient)"
_EXTRACT_LAYOUT = (
    "DMF layout: 2011, or 1980 (pre-2011, with state and ZIP of residence and lump-sum ZIP; "
    "the keeper's own file only)"
)


@extract_app.command("full")
def extract_full_cmd(
    out: Annotated[Path, typer.Option(help="the file to write")],
    recipient: Annotated[str, typer.Option(help="who it is for ('' = the keeper)")] = "",
    fmt: Annotated[str, typer.Option("--format", help="dmf, csv or parquet")] = "dmf",
    purpose: Annotated[str, typer.Option(help=_KEEPER_PURPOSE)] = "",
    authority: Annotated[str, typer.Option(help=_KEEPER_AUTHORITY)] = "",
    layout: Annotated[str, typer.Option(help=_EXTRACT_LAYOUT)] = "2011",
) -> None:
    """Every current death the recipient may have, sorted by SSN (recorded as a delivery,
    signed: the sidecar's checkpoint carries the delivery)."""
    from vitalfile.cli.policy_cmds import signing_key

    key = signing_key(required=True)
    with open_db() as store, progress_bar("extract", None) as advance:
        result = extract_full(
            store,
            out,
            progress=advance,
            recipient=recipient,
            fmt=fmt,
            key=key,
            purpose=purpose,
            authority=authority,
            layout=layout,
        )
    out_console.print(f"wrote {result.records:,} records to {out}")


@extract_app.command("update")
def extract_update_cmd(
    out: Annotated[Path, typer.Option(help="the file to write")],
    recipient: Annotated[str, typer.Option(help="who it is for ('' = the keeper)")] = "",
    fmt: Annotated[str, typer.Option("--format", help="dmf, csv or parquet")] = "dmf",
    purpose: Annotated[str, typer.Option(help=_KEEPER_PURPOSE)] = "",
    authority: Annotated[str, typer.Option(help=_KEEPER_AUTHORITY)] = "",
    layout: Annotated[str, typer.Option(help=_EXTRACT_LAYOUT)] = "2011",
) -> None:
    """Adds, changes and deletes since the recipient's last delivery (A/C/D in column 1);
    to a recipient whose agreement ended or narrowed, only the C/D lines it is owed."""
    from vitalfile.cli.policy_cmds import signing_key

    key = signing_key(required=True)
    with open_db() as store:
        result = extract_update(
            store,
            out,
            recipient=recipient,
            fmt=fmt,
            key=key,
            purpose=purpose,
            authority=authority,
            layout=layout,
        )
    note = " (corrections only: the agreement has ended or narrowed)"
    out_console.print(
        f"wrote {result.records:,} records to {out}: {result.adds} A, {result.changes} C, "
        f"{result.deletes} D" + (note if result.scope == "corrections" else "")
    )


@app.command()
def demo(
    workdir: Annotated[Path, typer.Option("--dir", help="folder the demo works in")] = Path(
        "vitalfile-demo"
    ),
    people: Annotated[int, typer.Option(help="people in the population")] = 100_000,
    seed: Annotated[int, typer.Option(help="random seed")] = 1,
) -> None:
    """The whole system on synthetic data, told step by step: intake and holds, files to
    each tier, a retraction and its corrections, a determination, a refused bulk request, the
    ledger verified."""
    from vitalfile.cli.demo import run_demo

    summary = run_demo(workdir, people=people, seed=seed, console=err_console)
    out_console.print(summary.table())


def _exists(path: Path) -> None:
    if not path.exists():
        raise UsageError("no such file", file=str(path))


@reports_app.command("unmatched")
def reports_unmatched(
    source_kind: Annotated[
        str | None, typer.Option(help="only this source kind (state, funeral_home, …)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Reports that matched no one on file, with counts by source (a state's open a research
    case in the queue: `vitalfile cases list --kind research`)."""
    from dataclasses import asdict

    from vitalfile.master.unmatched import unmatched_counts, unmatched_reports

    with open_db() as store:
        rows = unmatched_reports(store, source_kind=source_kind)
        counts = unmatched_counts(store)
    if as_json:
        out_console.print_json(json.dumps({"counts": counts, "reports": [asdict(r) for r in rows]}))
        return
    total = ", ".join(f"{k} {n:,}" for k, n in counts.items()) or "none"
    out_console.print(f"unmatched reports by source: {total}")
    for r in rows:
        case = f"  research case {r.research_case}" if r.research_case else ""
        out_console.print(f"{r.report_key}  {r.source_kind}  {r.reason}{case}", markup=False)
