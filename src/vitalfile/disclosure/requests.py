"""Requests for a person's personal data (for example a last known address) from agencies.

A request is granted only where the rules allow it: the person has been indicted for or
convicted of a violent crime (with the case reference), or the request investigates fraud
against the program (with its reference). Anything else is refused, and so is, line by line,
a list of people under one shared basis with no reference per person. Every request is a
`request.received` event with its basis and reference, and a `disclosure.made` or
`disclosure.refused` event in the person's accounting. Nothing here touches a death.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from vitalfile.cases.framework import CaseState, decision_event, register_decider
from vitalfile.dates import due_date, iso_now
from vitalfile.errors import NotFound, RecordError, UsageError
from vitalfile.events import (
    CaseOpened,
    DisclosureMade,
    DisclosureRefused,
    Event,
    PersonalDataRequested,
)
from vitalfile.ledger.store import Store, Tx, event_rows
from vitalfile.sources.csv import iter_rows

__all__ = [
    "ALLOWED_BASES",
    "GIVEN_FIELDS",
    "RequestIn",
    "RequestOutcome",
    "RequestsProjection",
    "SubmitRequestsResult",
    "decide_request_case",
    "decide_requests",
    "read_requests",
    "submit_requests",
]

# basis → the published routine use it is granted under
ALLOWED_BASES = {
    "violent_crime_indictment": "routine use: law enforcement, person indicted for a violent crime",
    "violent_crime_conviction": "routine use: law enforcement, person convicted of a violent crime",
    "program_fraud_investigation": "routine use: investigation of fraud against the program",
}
GIVEN_FIELDS = ("address", "city", "state", "zip")
HEADER = ("agency", "ssn", "basis", "case_ref")
BULK_REASON = (
    "a list of people under one shared basis with no case reference per person: "
    "each request must name its own case"
)


@dataclass(frozen=True)
class RequestIn:
    agency: str
    ssn: str
    basis: str
    case_ref: str
    line: int = 0

    def request_id(self) -> str:
        text = f"{self.agency}|{self.ssn}|{self.basis}|{self.case_ref}|{self.line}"
        return "Q-" + hashlib.sha256(text.encode()).hexdigest()[:16]


def read_requests(path: Path) -> tuple[list[RequestIn], list[RecordError]]:
    """A requests CSV (`agency,ssn,basis,case_ref`), one request per line."""
    items: list[RequestIn] = []
    errors: list[RecordError] = []
    for item in iter_rows(path, HEADER):
        if isinstance(item, RecordError):
            errors.append(item)
            continue
        i, v = item
        agency, ssn, basis, ref = (v[h] for h in HEADER)
        if not agency:
            errors.append(RecordError("no agency", line=i, field="agency", file=path.name))
            continue
        if not (len(ssn) == 9 and ssn.isdigit()):
            errors.append(RecordError("not a 9-digit SSN", line=i, field="ssn", file=path.name))
            continue
        items.append(RequestIn(agency, ssn, basis, ref, i))
    return items, errors


@dataclass(frozen=True)
class RequestOutcome:
    request_id: str
    line: int
    outcome: str  # granted | refused | held
    reason: str
    person_id: int | None = None
    answer: dict[str, str] = field(default_factory=dict)  # what was given, when granted


def _bulk_lines(items: Sequence[RequestIn]) -> set[int]:
    """Lines that are part of a list under one shared basis with no per-person reference."""
    by_agency: dict[str, list[RequestIn]] = defaultdict(list)
    for it in items:
        by_agency[it.agency].append(it)
    out: set[int] = set()
    for group in by_agency.values():
        if len(group) < 2:
            continue
        bases = {it.basis for it in group}
        refs = {it.case_ref for it in group}
        if len(bases) == 1 and (refs == {""} or len(refs) == 1):
            out |= {it.line for it in group}
    return out


def _rule(it: RequestIn, bulk: bool) -> str:
    """'' when the rules allow the request, else the reason it is refused."""
    if bulk:
        return BULK_REASON
    if it.basis not in ALLOWED_BASES:
        return (
            "basis not allowed: personal data is given only for an indictment or conviction "
            "for a violent crime, or an investigation of fraud against the program"
        )
    if not it.case_ref:
        return "no case reference: a request names the indictment, conviction or investigation"
    return ""


def decide_requests(
    items: Sequence[RequestIn],
    people: dict[str, list[tuple[int, dict[str, str]]]],
    known: set[str],
    *,
    at: str,
) -> tuple[list[Event], list[RequestOutcome], int]:
    """Pure: every request's events and outcome (and how many were duplicates)."""
    bulk = _bulk_lines(items)
    events: list[Event] = []
    outcomes: list[RequestOutcome] = []
    dup = 0
    for it in items:
        rid = it.request_id()
        if rid in known:
            dup += 1
            continue
        found = people.get(it.ssn, [])
        pids = [p for p, _ in found]
        reason = _rule(it, it.line in bulk)
        outcome = "refused" if reason else "granted"
        if not reason and not found:
            outcome, reason = "refused", "no person on file with this SSN"
        elif not reason and len(found) > 1:
            outcome, reason = "held", "several people on file with this SSN: a reviewer decides"
        pid = pids[0] if len(pids) == 1 else None
        events.append(
            PersonalDataRequested(
                request_id=rid,
                agency=it.agency,
                basis=it.basis,
                case_ref=it.case_ref,
                ssn=it.ssn,
                person_id=pid,
                line=it.line,
                outcome=outcome,
                reason=reason,
                at=at,
            )
        )
        answer: dict[str, str] = {}
        if outcome == "granted":
            answer = {k: found[0][1].get(k, "") for k in GIVEN_FIELDS}
            events.append(_granted(it, rid, pids[0], at))
        elif outcome == "refused":
            events.append(_refused(it, rid, pids, reason, at))
        else:
            events.append(
                CaseOpened(
                    case_id=f"Q/{rid}",
                    kind="disclosure_request",
                    person_id=None,
                    about=rid,
                    reason=reason,
                    evidence=[f"case reference {it.case_ref}"],
                    explanation=[f"candidate person {p}" for p in pids],
                    due=due_date(at, "disclosure_request"),
                    opened_by=f"request:{it.agency}",
                    at=at,
                )
            )
        outcomes.append(RequestOutcome(rid, it.line, outcome, reason, pid, answer))
    return events, outcomes, dup


def _granted(it: RequestIn, rid: str, pid: int, at: str) -> DisclosureMade:
    return DisclosureMade(
        disclosure_id=rid,
        recipient=it.agency,
        agreement_id="",
        purpose=f"{it.basis} (case {it.case_ref})",
        authority=ALLOWED_BASES[it.basis],
        channel="request",
        fields=list(GIVEN_FIELDS),
        person_ids=[pid],
        given=["last known address"],
        at=at,
    )


def _refused(it: RequestIn, rid: str, pids: Sequence[int], reason: str, at: str) -> Event:
    return DisclosureRefused(
        recipient=it.agency,
        channel="request",
        reason=reason,
        purpose=f"{it.basis} (case {it.case_ref or 'none'}; request {rid})",
        fields=list(GIVEN_FIELDS),
        person_ids=list(pids),
        at=at,
    )


@dataclass
class SubmitRequestsResult:
    granted: int = 0
    refused: int = 0
    held: int = 0
    duplicates: int = 0
    outcomes: list[RequestOutcome] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "outcomes"}


def submit_requests(
    store: Store, items: Sequence[RequestIn], *, now: datetime | None = None
) -> SubmitRequestsResult:
    """Decide every request by the rules and append each with its disclosure or refusal."""
    at = iso_now(now)
    result = SubmitRequestsResult()
    with store.transaction():
        tx = store.reader()
        rids = sorted({it.request_id() for it in items})
        known = {r[0] for r in tx.select_in("requests", ("request_id",), "request_id", rids)}
        cols = ("person_id", "ssn", *GIVEN_FIELDS)
        people: dict[str, list[tuple[int, dict[str, str]]]] = defaultdict(list)
        for row in tx.select_in("persons", cols, "ssn", sorted({it.ssn for it in items})):
            people[str(row[1])].append((int(row[0]), dict(zip(GIVEN_FIELDS, row[2:], strict=True))))
        for v in people.values():
            v.sort()
        events, outcomes, dup = decide_requests(items, people, known, at=at)
        if events:
            store.append(events, note="requests for personal data")
    result.duplicates = dup
    result.outcomes = outcomes
    for o in outcomes:
        setattr(result, o.outcome, getattr(result, o.outcome) + 1)
    return result


def decide_request_case(
    store: Store,
    case: CaseState,
    decision: str,
    *,
    reviewer: str,
    reason: str,
    evidence: Sequence[str],
    now: datetime | None = None,
    person_id: int | None = None,
) -> list[Event]:
    """A held request: a reviewer grants it for one named person, or refuses it."""
    at = iso_now(now)
    rows = store.query(
        "SELECT agency, ssn, basis, case_ref, line FROM requests WHERE request_id = ?",
        [case.about],
    )
    if not rows:
        raise NotFound("the case's request is not on file", case=case.case_id)
    agency, ssn, basis, ref, line = rows[0]
    it = RequestIn(str(agency), str(ssn), str(basis), str(ref), int(line))
    decided = decision_event(case, decision, reviewer, reason, evidence, at)
    if decision == "refuse":
        return [decided, _refused(it, case.about, [], f"reviewer: {reason}", at)]
    if person_id is None:
        raise UsageError("grant for whom? name the person (--person)", case=case.case_id)
    if _rule(it, False):
        raise UsageError("the rules do not allow this request", case=case.case_id)
    found = store.query("SELECT 1 FROM persons WHERE person_id = ? AND ssn = ?", [person_id, ssn])
    if not found:
        raise UsageError("that person does not have the requested SSN", case=case.case_id)
    return [decided, _granted(it, case.about, person_id, at)]


# the table's columns: (the event's attribute, or seq; the Arrow type)
_REQUEST_COLUMNS: dict[str, tuple[str, pa.DataType]] = {
    "request_id": ("request_id", pa.string()),
    "agency": ("agency", pa.string()),
    "ssn": ("ssn", pa.string()),
    "basis": ("basis", pa.string()),
    "case_ref": ("case_ref", pa.string()),
    "person_id": ("person_id", pa.int64()),
    "line": ("line", pa.int64()),
    "outcome": ("outcome", pa.string()),
    "reason": ("reason", pa.string()),
    "at_time": ("at", pa.string()),
    "seq": ("seq", pa.int64()),
}


class RequestsProjection:
    """requests: every request received, with its basis, reference and outcome."""

    name = "requests"

    def ddl(self) -> list[str]:
        return [
            """CREATE TABLE IF NOT EXISTS requests (request_id VARCHAR PRIMARY KEY,
                agency VARCHAR NOT NULL, ssn VARCHAR NOT NULL, basis VARCHAR NOT NULL,
                case_ref VARCHAR NOT NULL, person_id BIGINT, line BIGINT NOT NULL,
                outcome VARCHAR NOT NULL, reason VARCHAR NOT NULL, at_time VARCHAR NOT NULL,
                seq BIGINT NOT NULL)"""
        ]

    def tables(self) -> list[str]:
        return ["requests"]

    def handles(self, event_type: str) -> bool:
        return event_type == PersonalDataRequested.type

    def apply(self, tx: Tx, events: Sequence[tuple[int, Event]]) -> None:
        rows = [(s, e) for s, e in events if isinstance(e, PersonalDataRequested)]
        tx.insert_arrow("requests", event_rows(rows, _REQUEST_COLUMNS))


register_decider("disclosure_request", decide_request_case)
