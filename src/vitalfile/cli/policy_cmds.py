"""Commands for recipients and what leaves the file: agreements, corrections, verification,
batch matching, monitoring feeds, accounting and a person's own record."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Annotated

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vitalfile.cli.common import AS_OF_HELP, app, open_db, out_console, settings
from vitalfile.disclosure.accounting import accounting, my_record, refusals
from vitalfile.disclosure.corrections import pending_corrections
from vitalfile.disclosure.monitor import feed, register_monitor
from vitalfile.disclosure.policy import (
    FIELDS,
    REQUEST_BASES,
    REQUEST_FIELDS,
    add_agreement,
    add_recipient,
    end_agreement,
)
from vitalfile.disclosure.verify import match_batch, verify_online
from vitalfile.errors import NotFound, UsageError
from vitalfile.ledger.checkpoint import load_private_key
from vitalfile.master.asof import upto_seq
from vitalfile.ssn import parse as parse_ssn

recipient_app = typer.Typer(help="Recipients of files and answers.", no_args_is_help=True)
agreement_app = typer.Typer(help="What each recipient may receive.", no_args_is_help=True)
corrections_app = typer.Typer(help="Corrections owed to past recipients.", no_args_is_help=True)
monitor_app = typer.Typer(help="Continuous monitoring of customer lists.", no_args_is_help=True)
app.add_typer(recipient_app, name="recipient")
app.add_typer(agreement_app, name="agreement")
app.add_typer(corrections_app, name="corrections")
app.add_typer(monitor_app, name="monitor")


def signing_key(*, required: bool) -> Ed25519PrivateKey | None:
    """The keeper's key for checkpoints; required for anything sent to a recipient."""
    path = settings().key_path
    if not required and not path.exists():
        return None
    return load_private_key(path)


@recipient_app.command("add")
def recipient_add(
    recipient: Annotated[str, typer.Argument(help="the recipient's id (one word)")],
    tier: Annotated[str, typer.Option(help="federal, certified or public")],
    name: Annotated[str, typer.Option(help="the recipient's full name")] = "",
) -> None:
    """Register a recipient with its tier."""
    with open_db() as store:
        add_recipient(store, recipient, tier, name)
    out_console.print(f"recipient {recipient} added ({tier})")


@agreement_app.command("add")
def agreement_add(
    agreement_id: Annotated[str, typer.Argument(help="the agreement's id")],
    recipient: Annotated[str, typer.Option(help="the recipient it is with")],
    purpose: Annotated[str, typer.Option(help="the purpose (routine use)")],
    authority: Annotated[str, typer.Option(help="the legal authority")],
    start: Annotated[str, typer.Option(help="first day, YYYY-MM-DD")],
    end: Annotated[str, typer.Option(help="last day, YYYY-MM-DD")],
    fields: Annotated[
        str, typer.Option(help=f"comma-separated, of: {', '.join(FIELDS)}")
    ] = ",".join(FIELDS),
    determinations: Annotated[
        str, typer.Option(help="comma-separated kinds of determination (none by default)")
    ] = "",
    kind: Annotated[
        str, typer.Option(help="disclosure (files, answers) or request (personal data)")
    ] = "disclosure",
    bases: Annotated[
        str, typer.Option(help=f"request: comma-separated, of: {', '.join(REQUEST_BASES)}")
    ] = "",
    case_ref_pattern: Annotated[
        str, typer.Option(help="request: the form of a case reference (a regular expression)")
    ] = "",
    certifying_official: Annotated[
        str, typer.Option(help="request: the official who certifies each request")
    ] = "",
) -> None:
    """Record a written agreement: purpose, authority, fields, determination kinds, dates;
    a request agreement also its bases, case-reference form and certifying official (its
    fields default to the address: address, city, state, zip)."""
    chosen = [f.strip() for f in fields.split(",") if f.strip()]
    if kind == "request" and fields == ",".join(FIELDS):
        chosen = list(REQUEST_FIELDS)
    with open_db() as store:
        add_agreement(
            store,
            agreement_id,
            recipient,
            purpose=purpose,
            authority=authority,
            fields=chosen,
            determination_kinds=[d.strip() for d in determinations.split(",") if d.strip()],
            start=start,
            end=end,
            kind=kind,
            bases=[b.strip() for b in bases.split(",") if b.strip()],
            case_ref_pattern=case_ref_pattern,
            certifying_official=certifying_official,
        )
    out_console.print(f"agreement {agreement_id} added for {recipient}")


@agreement_app.command("end")
def agreement_end(
    agreement_id: Annotated[str, typer.Argument(help="the agreement's id")],
    end: Annotated[str, typer.Option(help="its last day, YYYY-MM-DD")],
    reason: Annotated[str, typer.Option(help="why it ends")] = "",
) -> None:
    """End an agreement early."""
    with open_db() as store:
        end_agreement(store, agreement_id, end=end, reason=reason)
    out_console.print(f"agreement {agreement_id} ends {end}")


@corrections_app.command("pending")
def corrections_pending(
    recipient: Annotated[str | None, typer.Option(help="only this recipient")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Recipients holding a record version that has since changed or been retracted."""
    with open_db() as store:
        rows = pending_corrections(store, recipient)
    if as_json:
        out_console.print_json(json.dumps([r.__dict__ for r in rows]))
        return
    for r in rows:
        out_console.print(
            f"{r.recipient or '(keeper)'}\tperson {r.person_id}\t{r.change}\t"
            f"version {r.held_version} -> {r.current_version}"
        )
    out_console.print(f"{len(rows)} correction(s) pending")


@app.command("verify-ssn")
def verify_ssn(
    recipient: Annotated[str, typer.Option(help="who asks")],
    ssn: Annotated[str, typer.Option(help="the SSN")],
    last_name: Annotated[str, typer.Option(help="last name")],
    dob: Annotated[str, typer.Option(help="date of birth YYYY-MM-DD")],
) -> None:
    """Online verification: death on file (date, level) or no death on file."""
    with open_db() as store:
        answer = verify_online(store, recipient, ssn=ssn, last_name=last_name, dob=dob)
    out_console.print_json(json.dumps(answer.__dict__))


@app.command()
def match(
    file: Annotated[Path, typer.Argument(help="customers CSV: customer_id,ssn,first_name,...")],
    recipient: Annotated[str, typer.Option(help="whose customers")],
    out: Annotated[Path, typer.Option(help="the answer CSV, one line per input row")],
    engine: Annotated[
        str | None,
        typer.Option(
            help="rows the rules leave open go to the linkage model on this engine: duckdb "
            "or spark (default $VITALFILE_ENGINE; neither given: the rules alone answer)"
        ),
    ] = None,
) -> None:
    """Batch matching: matched, multiple candidates, no match or pending review per row."""
    from vitalfile.link.spark import open_linker, resolve_engine

    if not file.exists():
        raise UsageError("no such file", file=str(file))
    chosen = resolve_engine(engine, default=None)
    with contextlib.ExitStack() as stack:
        linker = stack.enter_context(open_linker(chosen)) if chosen else None
        store = stack.enter_context(open_db())
        result = match_batch(store, recipient, file, out, linker=linker)
    out_console.print_json(
        json.dumps({"rows": result.rows, **result.counts, "deaths_given": result.deaths_given})
    )


@monitor_app.command("add")
def monitor_add(
    file: Annotated[Path, typer.Argument(help="customers CSV to watch")],
    recipient: Annotated[str, typer.Option(help="whose customers")],
) -> None:
    """Register a customer list once; deaths about them queue notices in the feed."""
    if not file.exists():
        raise UsageError("no such file", file=str(file))
    with open_db() as store:
        list_id, n = register_monitor(store, recipient, file)
    out_console.print(f"watching {n:,} customers (list {list_id})")


@app.command("feed")
def feed_cmd(
    recipient: Annotated[str, typer.Option(help="whose feed")],
    since: Annotated[int, typer.Option(help="notices after this position")] = 0,
) -> None:
    """Notices for the recipient's watched customers, with the signed checkpoint."""
    key = signing_key(required=True)
    with open_db() as store:
        page = feed(store, recipient, since=since, key=key)
    out_console.print_json(json.dumps(page.__dict__))


@app.command("accounting")
def accounting_cmd(
    ssn: Annotated[str, typer.Option(help="the person's SSN")],
    as_of: Annotated[str | None, typer.Option(help=AS_OF_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Every disclosure and refusal about a person: date, recipient, purpose, what was given."""
    digits = parse_ssn(ssn, field="ssn")
    with open_db() as store:
        rows = accounting(store, digits, upto_seq=upto_seq(store, as_of))
    if as_json:
        out_console.print_json(json.dumps(rows))
        return
    for r in rows:
        out_console.print(
            f"{r['date']}\t{r['recipient'] or '(keeper)'}\t{r['kind']}\t{r['channel']}\t"
            f"{r['purpose']}\t{r['authority']}\t{r['given']}",
            markup=False,
        )
    out_console.print(f"{len(rows)} disclosure(s) and refusal(s)")


@app.command("refusals")
def refusals_cmd(
    recipient: Annotated[
        str | None, typer.Option(help="only this recipient ('' = the keeper)")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="only refusals at or after this ISO date or time")
    ] = None,
    limit: Annotated[int, typer.Option(help="at most this many, newest first")] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Every refused request of any kind (file, verify, match, feed, request, determination),
    newest first, with its reason and how many people it was about."""
    with open_db() as store:
        rows = refusals(store, recipient=recipient, since=since, limit=limit)
    if as_json:
        out_console.print_json(json.dumps(rows))
        return
    for r in rows:
        who = "(keeper)" if r["recipient"] == "" else r["recipient"]
        scope = "whole file" if r["whole_file"] else f"{r['people']} person(s)"
        out_console.print(f"{r['at']}\t{who}\t{r['channel']}\t{scope}\t{r['reason']}", markup=False)
    out_console.print(f"{len(rows)} refusal(s)")


@app.command("my-record")
def my_record_cmd(
    ssn: Annotated[str, typer.Option(help="the person's SSN")],
    as_of: Annotated[str | None, typer.Option(help=AS_OF_HELP)] = None,
) -> None:
    """What the file holds about a person."""
    digits = parse_ssn(ssn, field="ssn")
    with open_db() as store:
        rows = my_record(store, digits, upto_seq=upto_seq(store, as_of))
    if not rows:
        raise NotFound("no person with this SSN on file")
    out_console.print_json(json.dumps(rows))
