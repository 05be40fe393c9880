"""Requests for a person's personal data (a last known address) from agencies, through the gate.

A requesting agency is a registered recipient with a `request` agreement (legal authority,
permitted bases, the form of its case references, address fields, end date, the official
who certifies each request). The gate (`policy.request_terms`, `policy.request_refusal`)
lets a request through only when it names one person, a basis the agreement permits, a case
reference in the agreement's form and the certifying official, and only while the agency is
within its limits, counted from the ledger (`requests`, whatever the door or the file it
came in): people per case reference and people per period (settings). A request the gate
lets through awaits a supervisor's approval (`request.approved`); only then is the address
given. Every request is a `request.received` event with its basis and reference, and every
grant or refusal is in the person's accounting (an unknown agency's is in no one's).
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from vitalfile.cases.decide import register_decider
from vitalfile.cases.framework import CaseState, decision_event
from vitalfile.dates import due_date, iso_now
from vitalfile.disclosure.policy import (
    REQUEST_BASES,
    Denial,
    RequestTerms,
    request_refusal,
    request_terms,
)
from vitalfile.errors import NotFound, RecordError, UsageError
from vitalfile.events import (
    CaseOpened,
    DisclosureMade,
    DisclosureRefused,
    Event,
    PersonalDataRequested,
    RequestApproved,
    RequestPersonNamed,
)
from vitalfile.ledger.store import Store, Tx
from vitalfile.ledger.table import Table
from vitalfile.settings import Settings
from vitalfile.sources.csv import iter_rows

__all__ = [
    "ALLOWED_BASES",
    "GIVEN_FIELDS",
    "HEADER",
    "Limits",
    "RequestIn",
    "RequestOutcome",
    "RequestsProjection",
    "SubmitRequestsResult",
    "approve_request",
    "decide_request_case",
    "decide_requests",
    "list_requests",
    "read_requests",
    "request_outcome",
    "submit_requests",
]

ALLOWED_BASES = REQUEST_BASES  # the published routine uses (policy owns them)
GIVEN_FIELDS = ("address", "city", "state", "zip")
HEADER = ("agency", "ssn", "basis", "case_ref", "certified_by")
PASSED = ("granted", "awaiting_approval", "held")  # what counts against the limits


@dataclass(frozen=True)
class RequestIn:
    agency: str
    ssn: str
    basis: str
    case_ref: str
    certified_by: str = ""
    line: int = 0

    def request_id(self) -> str:
        text = f"{self.agency}|{self.ssn}|{self.basis}|{self.case_ref}|{self.line}"
        return "Q-" + hashlib.sha256(text.encode()).hexdigest()[:16]


def read_requests(path: Path) -> tuple[list[RequestIn], list[RecordError]]:
    """A requests CSV (`agency,ssn,basis,case_ref,certified_by`), one request per line."""
    items: list[RequestIn] = []
    errors: list[RecordError] = []
    for item in iter_rows(path, HEADER):
        if isinstance(item, RecordError):
            errors.append(item)
            continue
        i, v = item
        agency, ssn, basis, ref, official = (v[h] for h in HEADER)
        if not agency:
            errors.append(RecordError("no agency", line=i, field="agency", file=path.name))
            continue
        if not (len(ssn) == 9 and ssn.isdigit()):
            errors.append(RecordError("not a 9-digit SSN", line=i, field="ssn", file=path.name))
            continue
        items.append(RequestIn(agency, ssn, basis, ref, official, i))
    return items, errors


@dataclass(frozen=True)
class RequestOutcome:
    request_id: str
    line: int
    outcome: str  # granted | refused | held | awaiting_approval
    reason: str
    person_id: int | None = None
    answer: dict[str, str] = field(default_factory=dict)  # what was given, when granted


@dataclass(frozen=True)
class Limits:
    """The bulk limits the gate counts (settings `request_*`)."""

    max_per_reference: int = 1
    max_per_period: int = 50
    period_days: int = 30

    @classmethod
    def from_settings(cls, s: Settings | None = None) -> Limits:
        s = s or Settings.from_env()
        return cls(s.request_max_per_reference, s.request_max_per_period, s.request_period_days)


def decide_requests(
    items: Sequence[RequestIn],
    people: dict[str, list[tuple[int, dict[str, str]]]],
    known: set[str],
    terms: dict[str, RequestTerms | Denial],
    used_by_reference: Counter[tuple[str, str]],
    used_in_period: Counter[str],
    limits: Limits,
    *,
    at: str,
) -> tuple[list[Event], list[RequestOutcome], int]:
    """Pure: every request's events and outcome (and how many were duplicates). The counts
    start from the ledger and grow with each request let through, so one file, many files
    or one call each are decided alike."""
    events: list[Event] = []
    outcomes: list[RequestOutcome] = []
    dup = 0
    for it in items:
        rid = it.request_id()
        if rid in known:
            dup += 1
            continue
        known.add(rid)
        found = people.get(it.ssn, [])
        pids = [p for p, _ in found]
        t = terms[it.agency]
        agreement_id = ""
        if isinstance(t, Denial):
            reason = t.reason
            if not t.known:
                pids = []  # a stranger's request is in no one's accounting
        else:
            agreement_id = t.grant.agreement_id
            reason = request_refusal(
                t,
                basis=it.basis,
                case_ref=it.case_ref,
                certified_by=it.certified_by,
                used_by_reference=used_by_reference[(it.agency, it.case_ref)],
                used_in_period=used_in_period[it.agency],
                max_per_reference=limits.max_per_reference,
                max_per_period=limits.max_per_period,
                period_days=limits.period_days,
            )
        if not reason and not found:
            reason = "no person on file with this SSN"
        outcome = "refused" if reason else "awaiting_approval"
        if not reason and len(found) > 1:
            outcome, reason = "held", "several people on file with this SSN: a reviewer names one"
        if outcome != "refused":
            used_by_reference[(it.agency, it.case_ref)] += 1
            used_in_period[it.agency] += 1
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
                certified_by=it.certified_by,
                agreement_id=agreement_id,
            )
        )
        if outcome == "refused":
            events.append(_refused(it, rid, pids, reason, at, agreement_id))
        elif outcome == "held":
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
        outcomes.append(RequestOutcome(rid, it.line, outcome, reason, pid))
    return events, outcomes, dup


def _refused(
    it: RequestIn, rid: str, pids: Sequence[int], reason: str, at: str, agreement_id: str = ""
) -> Event:
    return DisclosureRefused(
        recipient=it.agency[:64],
        channel="request",
        reason=reason,
        agreement_id=agreement_id,
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
    awaiting_approval: int = 0
    duplicates: int = 0
    outcomes: list[RequestOutcome] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "outcomes"}


def _used(
    store: Store, agencies: Sequence[str], refs: Sequence[tuple[str, str]], since: str
) -> tuple[Counter[tuple[str, str]], Counter[str]]:
    """What the gate already let through, from the ledger's `requests` projection."""
    by_ref: Counter[tuple[str, str]] = Counter()
    in_period: Counter[str] = Counter()
    marks = ", ".join("?" for _ in PASSED)
    for agency in sorted(set(agencies)):
        rows = store.query(
            f"SELECT count(*) FROM requests WHERE agency = ? AND outcome IN ({marks}) "
            "AND at_time >= ?",
            [agency, *PASSED, since],
        )
        in_period[agency] = int(rows[0][0])
    for agency, ref in sorted(set(refs)):
        rows = store.query(
            f"SELECT count(*) FROM requests WHERE agency = ? AND case_ref = ? "
            f"AND outcome IN ({marks})",
            [agency, ref, *PASSED],
        )
        by_ref[(agency, ref)] = int(rows[0][0])
    return by_ref, in_period


def submit_requests(
    store: Store,
    items: Sequence[RequestIn],
    *,
    now: datetime | None = None,
    limits: Limits | None = None,
) -> SubmitRequestsResult:
    """Put every request through the gate and append each with its outcome; a request the
    gate lets through awaits a supervisor's approval (nothing is given yet)."""
    when = now or datetime.now(UTC)
    at = iso_now(when)
    lim = limits or Limits.from_settings()
    since = iso_now(when - timedelta(days=lim.period_days))
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
        agencies = sorted({it.agency for it in items})
        terms = {a: request_terms(store, a, on=when.date()) for a in agencies}
        by_ref, in_period = _used(store, agencies, [(i.agency, i.case_ref) for i in items], since)
        events, outcomes, dup = decide_requests(
            items, people, known, terms, by_ref, in_period, lim, at=at
        )
        if events:
            store.append(events, note="requests for personal data")
    result.duplicates = dup
    result.outcomes = outcomes
    for o in outcomes:
        setattr(result, o.outcome, getattr(result, o.outcome) + 1)
    return result


def request_outcome(store: Store, request_id: str) -> tuple[str, str, int | None] | None:
    """(outcome, reason, person id) decided for a request already on file, else None."""
    rows = store.query(
        "SELECT outcome, reason, person_id FROM requests WHERE request_id = ?", [request_id]
    )
    if not rows:
        return None
    outcome, reason, pid = rows[0]
    return str(outcome), str(reason), None if pid is None else int(pid)


REQUEST_LISTING = (
    "request_id", "agency", "basis", "case_ref", "person_id", "outcome", "reason", "at"
)  # fmt: skip


def list_requests(
    store: Store, *, outcome: str | None = None, limit: int = 500
) -> list[dict[str, Any]]:
    """Every request received, newest first (only those with `outcome` when given), as
    `REQUEST_LISTING` fields."""
    where, params = ("WHERE outcome = ?", [outcome]) if outcome else ("", [])
    rows = store.query(
        "SELECT request_id, agency, basis, case_ref, person_id, outcome, reason, at_time "
        f"FROM requests {where} ORDER BY seq DESC LIMIT ?",
        [*params, limit],
    )
    return [dict(zip(REQUEST_LISTING, r, strict=True)) for r in rows]


def approve_request(
    store: Store,
    request_id: str,
    *,
    supervisor: str,
    approve: bool = True,
    reason: str = "",
    now: datetime | None = None,
) -> RequestOutcome:
    """A supervisor's decision on a request awaiting approval: the address is given (to the
    agreement's fields) only now, recorded as `request.approved` and `disclosure.made`; the
    agreement is checked again (it may have ended). Declined or refused: recorded too."""
    if not supervisor.strip():
        raise UsageError("an approval names the supervisor", field="supervisor")
    if not approve and not reason.strip():
        raise UsageError("a declined request states why", field="reason")
    when = now or datetime.now(UTC)
    at = iso_now(when)
    with store.transaction():
        rows = store.query(
            "SELECT agency, ssn, basis, case_ref, line, outcome, person_id, certified_by "
            "FROM requests WHERE request_id = ?",
            [request_id],
        )
        if not rows:
            raise NotFound("no such request", record_id=request_id)
        agency, ssn, basis, ref, line, outcome, pid, official = rows[0]
        if outcome != "awaiting_approval" or pid is None:
            raise UsageError(
                f"the request is {outcome}: nothing awaits approval", record_id=request_id
            )
        it = RequestIn(str(agency), str(ssn), str(basis), str(ref), str(official), int(line))
        pid = int(pid)
        terms = request_terms(store, it.agency, on=when.date())
        why = "" if approve else f"declined by a supervisor: {reason}"
        if not why and isinstance(terms, Denial):
            why = terms.reason
        decided = RequestApproved(
            request_id=request_id,
            approved=not why,
            supervisor=supervisor.strip(),
            person_id=pid,
            reason=why or reason,
            at=at,
        )
        if why:
            store.append([decided, _refused(it, request_id, [pid], why, at)], note="request")
            return RequestOutcome(request_id, it.line, "refused", why, pid)
        assert isinstance(terms, RequestTerms)
        given_fields = [f for f in GIVEN_FIELDS if f in terms.grant.fields]
        found = store.reader().select_in(
            "persons", ("person_id", *given_fields), "person_id", [pid]
        )
        answer = dict(zip(given_fields, (str(x) for x in found[0][1:]), strict=True))
        store.append(
            [
                decided,
                DisclosureMade(
                    disclosure_id=request_id,
                    recipient=it.agency,
                    agreement_id=terms.grant.agreement_id,
                    purpose=(
                        f"{it.basis} (case {it.case_ref}; certified by {it.certified_by}; "
                        f"approved by {supervisor.strip()})"
                    ),
                    authority=f"{REQUEST_BASES[it.basis]}; {terms.grant.authority}",
                    channel="request",
                    fields=given_fields,
                    person_ids=[pid],
                    given=["last known address (" + ", ".join(given_fields) + ")"],
                    at=at,
                ),
            ],
            note="request approved",
        )
    return RequestOutcome(request_id, it.line, "granted", "", pid, answer)


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
    """A held request (several people share the SSN): a reviewer names the one person it is
    about (it then awaits a supervisor's approval, like any other), or refuses it."""
    at = iso_now(now)
    rows = store.query(
        "SELECT agency, ssn, basis, case_ref, line, certified_by, outcome FROM requests "
        "WHERE request_id = ?",
        [case.about],
    )
    if not rows:
        raise NotFound("the case's request is not on file", case=case.case_id)
    agency, ssn, basis, ref, line, official, outcome = rows[0]
    it = RequestIn(str(agency), str(ssn), str(basis), str(ref), str(official), int(line))
    decided = decision_event(case, decision, reviewer, reason, evidence, at)
    if decision == "refuse":
        return [
            decided,
            RequestApproved(
                request_id=case.about,
                approved=False,
                supervisor=reviewer,
                reason=f"reviewer: {reason}",
                at=at,
            ),
            _refused(it, case.about, [], f"reviewer: {reason}", at),
        ]
    if person_id is None:
        raise UsageError("grant for whom? name the person (--person)", case=case.case_id)
    if outcome != "held":
        raise UsageError(f"the request is {outcome}", case=case.case_id)
    found = store.query("SELECT 1 FROM persons WHERE person_id = ? AND ssn = ?", [person_id, ssn])
    if not found:
        raise UsageError("that person does not have the requested SSN", case=case.case_id)
    return [
        decided,
        RequestPersonNamed(request_id=case.about, person_id=person_id, reviewer=reviewer, at=at),
    ]


# the table's columns: (the event's attribute, or seq; the Arrow type)
REQUESTS = Table(
    "requests",
    "request_id VARCHAR PRIMARY KEY",
    "agency VARCHAR",
    "ssn VARCHAR",
    "basis VARCHAR",
    "case_ref VARCHAR",
    "person_id BIGINT NULL",
    "line BIGINT",
    "outcome VARCHAR",
    "reason VARCHAR",
    "at_time VARCHAR",
    "seq BIGINT",
    "certified_by VARCHAR",
    "agreement_id VARCHAR",
)


class RequestsProjection:
    """requests: every request received, with its basis, reference and outcome as it
    stands (awaiting approval, granted or refused after a supervisor's decision)."""

    name = "requests"

    def ddl(self) -> list[str]:
        return [
            REQUESTS.ddl,
            # issue 14 (older files gain the columns)
            "ALTER TABLE requests ADD COLUMN IF NOT EXISTS certified_by VARCHAR DEFAULT ''",
            "ALTER TABLE requests ADD COLUMN IF NOT EXISTS agreement_id VARCHAR DEFAULT ''",
            "CREATE INDEX IF NOT EXISTS requests_agency ON requests (agency, case_ref)",
        ]

    def tables(self) -> list[str]:
        return [REQUESTS.name]

    def handles(self, event_type: str) -> bool:
        return event_type in (
            PersonalDataRequested.type,
            RequestApproved.type,
            RequestPersonNamed.type,
        )

    def apply(self, tx: Tx, events: Sequence[tuple[int, Event]]) -> None:
        pending: list[tuple[int, Event]] = []

        def flush() -> None:
            if pending:
                tx.insert_arrow(REQUESTS.name, REQUESTS.from_events(pending, at_time="at"))
                pending.clear()

        for s, e in events:
            if isinstance(e, PersonalDataRequested):
                pending.append((s, e))
                continue
            flush()
            if isinstance(e, RequestApproved):
                tx.execute(
                    "UPDATE requests SET outcome = ?, reason = ? WHERE request_id = ?",
                    ["granted" if e.approved else "refused", e.reason, e.request_id],
                )
            elif isinstance(e, RequestPersonNamed):
                tx.execute(
                    "UPDATE requests SET outcome = 'awaiting_approval', person_id = ?, "
                    "reason = ? WHERE request_id = ?",
                    [e.person_id, f"person named by reviewer {e.reviewer}", e.request_id],
                )
        flush()


register_decider("disclosure_request", decide_request_case)
