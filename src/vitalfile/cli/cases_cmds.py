"""Commands for due process: cases, disputes, signs of life, determinations, data requests."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from vitalfile.cli.common import app, open_db, out_console
from vitalfile.errors import FileRejected, UsageError
from vitalfile.ssn import parse as parse_ssn

if TYPE_CHECKING:
    from vitalfile.cases.access import PrintedNotice

__all__ = ["route_aliases"]

cases_app = typer.Typer(
    help="The case workers' queue: reviews, disputes, determinations.", no_args_is_help=True
)
dispute_app = typer.Typer(help="Disputes of a death on file (resurrection).", no_args_is_help=True)
det_app = typer.Typer(help="The determinations register (never deaths).", no_args_is_help=True)
request_app = typer.Typer(help="Requests for a person's personal data.", no_args_is_help=True)
app.add_typer(cases_app, name="cases")
app.add_typer(dispute_app, name="dispute")
app.add_typer(det_app, name="determination")
app.add_typer(request_app, name="request")

Reviewer = Annotated[
    str, typer.Option(envvar="VITALFILE_REVIEWER", help="who decides (your name or id)")
]
AsJson = Annotated[bool, typer.Option("--json", help="print JSON")]
_GLOBAL_WITH_VALUE = ("--db", "--key", "--log-level")


def route_aliases(argv: list[str]) -> list[str]:
    """`vitalfile ingest activity FILE` is `vitalfile ingest-activity FILE`."""
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        i += 2 if argv[i] in _GLOBAL_WITH_VALUE else 1
    if argv[i : i + 2] == ["ingest", "activity"] and len(argv) > i + 2:
        return [*argv[:i], "ingest-activity", *argv[i + 2 :]]
    return argv


def _exists(path: Path) -> None:
    if not path.exists():
        raise UsageError("no such file", file=str(path))


# ── cases ─────────────────────────────────────────────────────────────────────────────
@cases_app.command("list")
def cases_list(
    kind: Annotated[
        str | None, typer.Option(help="review, dispute, determination or disclosure_request")
    ] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="only open cases past due")] = False,
    state: Annotated[str, typer.Option(help="open, closed or all")] = "open",
    today: Annotated[str | None, typer.Option(help="ISO date to judge 'overdue' by")] = None,
    as_json: AsJson = False,
) -> None:
    """Cases, oldest due date first."""
    from vitalfile.cases.framework import list_cases

    with open_db() as store:
        rows = list_cases(
            store,
            kind=kind,
            state=None if state == "all" else state,
            overdue=overdue,
            today=_day(today),
        )
    if as_json:
        out_console.print_json(json.dumps([r.as_dict() for r in rows]))
        return
    for c in rows:
        out_console.print(
            f"{c.case_id}\t{c.kind}\t{c.state}\tdue {c.due}\tperson {c.person_id}\t"
            f"owner {c.owner or '-'}\t{c.reason}",
            markup=False,
        )
    out_console.print(f"{len(rows)} case(s)")


@cases_app.command("show")
def cases_show(
    case_id: Annotated[str, typer.Argument(help="the case id")], as_json: AsJson = False
) -> None:
    """One case: what it is about, why it was opened, and every decision on it."""
    from vitalfile.cases.framework import get_case

    with open_db() as store:
        c = get_case(store, case_id)
    if as_json:
        out_console.print_json(json.dumps(c.as_dict()))
        return
    out_console.print(
        f"case {c.case_id} ({c.kind}, {c.state}) about {c.about}; person {c.person_id}; "
        f"owner {c.owner or '-'}; opened {c.opened_at[:19]}; due {c.due}; "
        f"version {c.updated_seq}",
        markup=False,
    )
    out_console.print(f"reason: {c.reason}", markup=False)
    for line in c.explanation:
        out_console.print(f"  {line}", markup=False)
    for ev in c.evidence:
        out_console.print(f"  evidence: {ev}", markup=False)
    for h in c.history:
        out_console.print(
            f"{h.at[:19]}\t{h.decision}\tby {h.reviewer}\t{h.reason}\t{', '.join(h.evidence)}",
            markup=False,
        )


@cases_app.command("decide")
def cases_decide(
    case_id: Annotated[str, typer.Argument(help="the case id")],
    decision: Annotated[
        str,
        typer.Option(
            help="review: link, reject, retract, uphold; dispute: retract, uphold; "
            "determination: propose, withdraw, uphold; disclosure_request: grant, refuse; "
            "any: note (does not close)"
        ),
    ],
    reason: Annotated[str, typer.Option(help="why (kept in the case history)")],
    reviewer: Reviewer,
    version: Annotated[
        int,
        typer.Option(
            help="the case's version as you read it (cases show): if it changed since "
            "(another reviewer decided it), nothing is recorded"
        ),
    ],
    evidence: Annotated[
        list[str] | None, typer.Option(help="evidence reference (repeatable)")
    ] = None,
    person: Annotated[
        int | None, typer.Option(help="the person id, where the case needs one named")
    ] = None,
    finding: Annotated[
        str,
        typer.Option(help="on retract, what the reports were: not-this-person or erroneous"),
    ] = "not-this-person",
    override: Annotated[
        str,
        typer.Option(
            help="on link of a report held to protect a living person (a minor, a relative's "
            "SSN, no usable SSN): why it is safe to post this death (required then)"
        ),
    ] = "",
) -> None:
    """Decide a case as read at --version; a retraction ends the death and queues
    corrections for its recipients."""
    from vitalfile.cases.decide import decide

    with open_db() as store:
        r = decide(
            store,
            case_id,
            decision,
            reviewer=reviewer,
            reason=reason,
            evidence=evidence or [],
            person_id=person,
            finding=finding,
            expected_version=version,
            override=override,
        )
    out_console.print(f"case {case_id}: {decision} ({', '.join(r.events)})", markup=False)
    if decision == "retract":
        out_console.print(f"correction queued for {len(r.recipients)} recipient(s)")


@cases_app.command("assign")
def cases_assign(
    case_id: Annotated[str, typer.Argument(help="the case id")],
    owner: Annotated[str, typer.Option(help="who works the case")],
) -> None:
    """Give a case an owner."""
    from vitalfile.cases.framework import assign

    with open_db() as store:
        assign(store, case_id, owner)
    out_console.print(f"case {case_id} assigned to {owner}", markup=False)


@dispute_app.command("open")
def dispute_open(
    ssn: Annotated[str, typer.Option(help="the SSN of the person listed as dead")],
    evidence: Annotated[list[str], typer.Option(help="evidence reference (repeatable)")],
    reason: Annotated[str, typer.Option(help="what the person says")] = (
        "the person says they are alive"
    ),
    by: Annotated[str, typer.Option(help="who opens it")] = "",
) -> None:
    """Open a dispute on a death (decide it `retract` to end the death)."""
    from vitalfile.cases.framework import open_dispute

    digits = parse_ssn(ssn, field="ssn")
    with open_db() as store:
        cid = open_dispute(store, digits, evidence=evidence, reason=reason, opened_by=by)
    out_console.print(f"dispute {cid} opened", markup=False)


# ── signs of life ─────────────────────────────────────────────────────────────────────
@app.command("ingest-activity")
def ingest_activity_cmd(
    file: Annotated[Path, typer.Argument(help="CSV: ssn,kind,date,source")],
    as_json: AsJson = False,
) -> None:
    """Take in an activity feed (also `vitalfile ingest activity FILE`); activity after a
    recorded date of death opens one review case on that death."""
    from vitalfile.intake.activity import ingest_activity

    _exists(file)
    with open_db() as store:
        r = ingest_activity(store, file)
    if as_json:
        out_console.print_json(json.dumps(r.as_dict()))
        return
    out_console.print(
        f"recorded {r.recorded:,} (duplicates {r.duplicates:,}, unmatched {r.unmatched:,}); "
        f"after a date of death {r.after_death:,}; review cases opened {len(r.cases_opened):,}"
    )


# ── determinations ────────────────────────────────────────────────────────────────────
@det_app.command("submit")
def det_submit(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV: ssn,first_name,middle_name,last_name,dob,kind,authority,"
            "effective_date,evidence_ref (one determination per line)"
        ),
    ],
    agency: Annotated[str, typer.Option(help="the issuing agency")],
    computer_match: Annotated[
        bool,
        typer.Option("--computer-match", help="a computer-match result: unverified until verified"),
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Submit determinations; each is checked alone and held, or proposed (its notice is
    then issued as its own step: determination issue-notice)."""
    from vitalfile.cases.determinations import read_determinations, submit_determinations

    _exists(file)
    items, errors = read_determinations(file)
    if errors:
        raise FileRejected(errors, file=file.name)
    with open_db() as store:
        r = submit_determinations(
            store,
            items,
            agency=agency,
            origin="computer_match" if computer_match else "agency",
            batch_id=file.name,
        )
    if as_json:
        out_console.print_json(json.dumps(r.as_dict()))
        return
    out_console.print(
        f"submitted {r.submitted:,} (duplicates {r.duplicates:,}): proposed {r.proposed:,}, "
        f"awaiting verification {r.awaiting_verification:,}, held {r.held:,}"
    )
    for why, n in sorted(r.holds_by_reason.items()):
        out_console.print(f"  held: {why}: {n:,}", markup=False)


@det_app.command("list")
def det_list(
    state: Annotated[str | None, typer.Option(help="held, proposed, notice_issued, …")] = None,
    as_json: AsJson = False,
) -> None:
    """Determinations as they stand."""
    from vitalfile.cases.determinations import list_determinations

    with open_db() as store:
        rows = list_determinations(store, state=state)
    if as_json:
        out_console.print_json(json.dumps([d.as_dict() for d in rows]))
        return
    for d in rows:
        out_console.print(
            f"{d.determination_id}\t{d.kind}\t{d.state}\tperson {d.person_id}\t"
            f"contest by {d.contest_by or '-'}\t{'; '.join(d.hold_reasons)}",
            markup=False,
        )
    out_console.print(f"{len(rows)} determination(s)")


@det_app.command("show")
def det_show(determination_id: Annotated[str, typer.Argument(help="the id")]) -> None:
    """One determination as it stands."""
    from vitalfile.cases.determinations import get_determination

    with open_db() as store:
        d = get_determination(store, determination_id)
    out_console.print_json(json.dumps(d.as_dict()))


@det_app.command("notice")
def det_notice(
    determination_id: Annotated[str, typer.Argument(help="the id")],
    out: Annotated[Path, typer.Option(help="folder for the notice (.txt and .pdf)")] = Path("."),
    record_copy: Annotated[
        bool, typer.Option("--record-copy", help="the notice as issued, without a code")
    ] = False,
    url: Annotated[
        str, typer.Option(help="the service's public address, printed before /console/my-record")
    ] = "",
) -> None:
    """Write the determination's issued notice as text and PDF to print and send its
    subject, with a new one-time access code (--record-copy: as issued, without one)."""
    if record_copy:
        from vitalfile.cases.window import write_notice

        with open_db() as store:
            txt, pdf = write_notice(store, determination_id, out)
        out_console.print(f"wrote {txt} and {pdf}", markup=False)
        return
    from vitalfile.cases.access import PAGE, print_notice

    with open_db() as store:
        printed = print_notice(
            store, determination_id=determination_id, page=url.rstrip("/") + PAGE
        )
        _print_and_write(printed, out)


@app.command("notice")
def notice_cmd(
    ssn: Annotated[str | None, typer.Option(help="the person's SSN")] = None,
    person: Annotated[int | None, typer.Option(help="or the person id")] = None,
    determination: Annotated[
        str | None, typer.Option(help="a determination's notice (default: the latest notice)")
    ] = None,
    out: Annotated[Path, typer.Option(help="folder for the notice (.txt and .pdf)")] = Path("."),
    url: Annotated[
        str, typer.Option(help="the service's public address, printed before /console/my-record")
    ] = "",
) -> None:
    """Write a person's notice (a determination's, or that their death was retracted) as
    text and PDF, with a new one-time access code: with it and their SSN they open their
    record at /console/my-record. The code is printed on the notice and kept only hashed."""
    from vitalfile.cases.access import PAGE, print_notice
    from vitalfile.master.projection import find_person_ids

    if (ssn is None) == (person is None):
        raise UsageError("name the person: --ssn or --person", field="ssn")
    with open_db() as store:
        if ssn is not None:
            ids = find_person_ids(store, parse_ssn(ssn, field="ssn"))
            if len(ids) != 1:
                raise UsageError(
                    "no person with this SSN on file"
                    if not ids
                    else "several people on file have this SSN: name one with --person",
                    field="ssn",
                )
            person = ids[0]
        printed = print_notice(
            store, person_id=person, determination_id=determination, page=url.rstrip("/") + PAGE
        )
        _print_and_write(printed, out)


def _print_and_write(notice: PrintedNotice, out: Path) -> None:
    from vitalfile.cases.access import write_printed_notice

    txt, pdf = write_printed_notice(notice, out)
    out_console.print(
        f"wrote {txt} and {pdf}: notice {notice.notice} for person {notice.person_id}, "
        f"with a one-time access code (opens the record once, until {notice.expires})",
        markup=False,
    )


@det_app.command("issue-notice")
def det_issue_notice(
    determination_id: Annotated[str, typer.Argument(help="the id")],
    method: Annotated[str, typer.Option(help="how it is sent: mail, email, in_person, portal")],
    sent_to: Annotated[str, typer.Option(help="the address it is sent to")],
    by: Annotated[str, typer.Option(help="who issues it")],
) -> None:
    """Record that the notice was sent today (how, where, by whom): the 30-day contest
    window starts from today's date."""
    from vitalfile.cases.window import issue_notice

    with open_db() as store:
        n = issue_notice(store, determination_id, method=method, sent_to=sent_to, issued_by=by)
    out_console.print(
        f"notice {n.notice_id} issued {n.issued_on} by {n.method}; contest by {n.contest_by}",
        markup=False,
    )


@det_app.command("contest")
def det_contest(
    determination_id: Annotated[str, typer.Argument(help="the id")],
    ground: Annotated[str, typer.Option(help="why the finding is wrong")],
    evidence: Annotated[list[str] | None, typer.Option(help="evidence (repeatable)")] = None,
) -> None:
    """The subject contests within 30 days of the notice: a case for a reviewer."""
    from vitalfile.cases.window import contest

    with open_db() as store:
        cid = contest(store, determination_id, ground=ground, evidence=evidence or [])
    out_console.print(f"contest case {cid} opened", markup=False)


@det_app.command("verify")
def det_verify(
    determination_id: Annotated[str, typer.Argument(help="the id")],
    method: Annotated[str, typer.Option(help="how the match was independently verified")],
    by: Annotated[str, typer.Option(help="who verified it")],
    evidence: Annotated[list[str] | None, typer.Option(help="evidence (repeatable)")] = None,
) -> None:
    """Record the independent verification of a computer-match result (then issue-notice)."""
    from vitalfile.cases.window import verify_match

    with open_db() as store:
        verify_match(
            store, determination_id, verified_by=by, method=method, evidence=evidence or []
        )
    out_console.print("verified; the notice can now be issued (determination issue-notice)")


@det_app.command("advance")
def det_advance() -> None:
    """Put in effect the determinations whose 30-day contest window has passed, judged by
    today's date in real time (no date can be given)."""
    from vitalfile.cases.window import advance

    with open_db() as store:
        ids = advance(store)
    out_console.print(f"{len(ids)} determination(s) now in effect")


@det_app.command("answer")
def det_answer(
    recipient: Annotated[str, typer.Option(help="who asks")],
    ssn: Annotated[str, typer.Option(help="about whom")],
) -> None:
    """Determinations in effect about a person that the recipient's agreement covers."""
    from vitalfile.disclosure.determinations import determinations_for

    digits = parse_ssn(ssn, field="ssn")
    with open_db() as store:
        rows = determinations_for(store, recipient, digits)
    out_console.print_json(json.dumps(rows))


# ── requests for personal data ────────────────────────────────────────────────────────
@request_app.command("submit")
def request_submit(
    file: Annotated[Path, typer.Argument(help="CSV: agency,ssn,basis,case_ref,certified_by")],
    as_json: AsJson = False,
) -> None:
    """Put requests through the gate: each refused (recorded, accounted for) or awaiting a
    supervisor's approval (`request approve`); bulk is refused past the limits, counted
    from the ledger across files and doors."""
    from vitalfile.disclosure.requests import read_requests, submit_requests

    _exists(file)
    items, errors = read_requests(file)
    if errors:
        raise FileRejected(errors, file=file.name)
    with open_db() as store:
        r = submit_requests(store, items)
    if as_json:
        out: dict[str, Any] = r.as_dict()
        out["lines"] = [
            {
                "line": o.line,
                "request_id": o.request_id,
                "outcome": o.outcome,
                "reason": o.reason,
                "answer": o.answer,
            }
            for o in r.outcomes
        ]
        out_console.print_json(json.dumps(out))
        return
    for o in r.outcomes:
        out_console.print(f"line {o.line}\t{o.outcome}\t{o.reason}", markup=False)
    out_console.print(
        f"awaiting approval {r.awaiting_approval}, refused {r.refused}, held {r.held}, "
        f"duplicates {r.duplicates}"
    )


@request_app.command("approve")
def request_approve(
    request_id: Annotated[str, typer.Argument(help="the request's id (Q-...)")],
    supervisor: Annotated[str, typer.Option(help="the approving supervisor's name")],
    decline: Annotated[bool, typer.Option(help="decline instead of approving")] = False,
    reason: Annotated[str, typer.Option(help="why (required to decline)")] = "",
    as_json: AsJson = False,
) -> None:
    """A supervisor's approval of a request the gate let through: only now is the address
    given (recorded, accounted for); or its refusal (--decline)."""
    from vitalfile.disclosure.requests import approve_request

    with open_db() as store:
        o = approve_request(
            store, request_id, supervisor=supervisor, approve=not decline, reason=reason
        )
    if as_json:
        out_console.print_json(
            json.dumps(
                {
                    "request_id": o.request_id,
                    "outcome": o.outcome,
                    "reason": o.reason,
                    "answer": o.answer,
                }
            )
        )
        return
    out_console.print(f"{o.request_id}\t{o.outcome}\t{o.reason}", markup=False)


def _day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise UsageError("not an ISO date", field="today") from exc
