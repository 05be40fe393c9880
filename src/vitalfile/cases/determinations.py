"""The determinations register: findings about living people, kept apart from deaths.

A determination (for example `benefit_ineligible` under an authority, from a date) has its
own events and its own tables (`determinations`, `determination_notices`); nothing here
reads or writes a death, a DMF file or a verification answer. Its life: submitted → held for
review (a minor, a weak identity match, no authority…) or proposed → notice issued (its own
step, `window.issue_notice`) → 30-day contest window → in effect (`window.advance`); or
withdrawn (by a reviewer, or a contest that succeeds). A computer-match result stays
unverified — no notice, no effect — until an independent verification event. This module
owns the state, its replay and projection, submitting (split per person, each checked alone
by `determination_input`) and the reviewer's decisions; the answer to recipients is
`disclosure.determinations` (through the gate).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from vitalfile.cases.decide import register_decider
from vitalfile.cases.determination_input import (
    HEADER,
    HOLD_REASONS,
    DeterminationIn,
    check_determination,
    read_determinations,
)
from vitalfile.cases.framework import CaseState, decision_event
from vitalfile.dates import due_date, iso_now
from vitalfile.errors import NotFound, UsageError
from vitalfile.events import (
    CaseOpened,
    DeterminationContested,
    DeterminationContestRejected,
    DeterminationHeld,
    DeterminationInEffect,
    DeterminationProposed,
    DeterminationSubmitted,
    DeterminationWithdrawn,
    Event,
    MatchVerified,
    NoticeIssued,
    ReportReceived,
)
from vitalfile.ledger.store import Store, Tx
from vitalfile.ledger.table import Table
from vitalfile.link.base import Linker, LinkResult
from vitalfile.master.projection import PersonState, load_people

__all__ = [
    "HEADER",
    "HOLD_REASONS",
    "DeterminationIn",
    "DeterminationState",
    "DeterminationsProjection",
    "SubmitResult",
    "check_determination",
    "decide_determination_case",
    "evolve_determination",
    "get_determination",
    "list_determinations",
    "notice_text_of",
    "read_determinations",
    "submit_determinations",
]


# ── state and replay ──────────────────────────────────────────────────────────────────
@dataclass
class DeterminationState:
    determination_id: str
    kind: str = ""
    authority: str = ""
    agency: str = ""
    effective_date: str = ""
    evidence_ref: str = ""
    identity: dict[str, str] = field(default_factory=dict)
    person_id: int | None = None
    match_probability: float | None = None
    origin: str = "agency"
    batch_id: str = ""
    state: str = "submitted"  # submitted|held|proposed|notice_issued|contested|in_effect|withdrawn
    hold_reasons: list[str] = field(default_factory=list)
    verified: bool = False
    notice_id: str = ""
    notice_issued_on: str = ""
    contest_by: str = ""
    contest_case: str = ""
    in_effect_on: str = ""
    closed_reason: str = ""
    submitted_at: str = ""
    updated_seq: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def evolve_determination(st: DeterminationState, seq: int, e: Event) -> DeterminationState:
    """Apply one event to a determination (no checks)."""
    if isinstance(e, DeterminationSubmitted):
        st.kind, st.authority, st.agency = e.kind, e.authority, e.agency
        st.effective_date, st.evidence_ref = e.effective_date, e.evidence_ref
        st.identity, st.person_id = dict(e.identity), e.person_id
        st.match_probability, st.origin, st.batch_id = e.match_probability, e.origin, e.batch_id
        st.state, st.submitted_at = "submitted", e.at
    elif isinstance(e, DeterminationHeld):
        st.state, st.hold_reasons = "held", list(e.reasons)
    elif isinstance(e, DeterminationProposed):
        st.state = "proposed"
        if e.person_id is not None:
            st.person_id = e.person_id
    elif isinstance(e, MatchVerified):
        st.verified = True
    elif isinstance(e, NoticeIssued):
        st.state, st.notice_id = "notice_issued", e.notice_id
        st.notice_issued_on, st.contest_by = e.issued_on, e.contest_by
    elif isinstance(e, DeterminationContested):
        st.state, st.contest_case = "contested", e.case_id
    elif isinstance(e, DeterminationContestRejected):
        st.state = "notice_issued"
    elif isinstance(e, DeterminationInEffect):
        st.state, st.in_effect_on = "in_effect", e.on
    elif isinstance(e, DeterminationWithdrawn):
        st.state, st.closed_reason = "withdrawn", e.reason
    st.updated_seq = seq
    return st


_TYPES = frozenset(
    {
        DeterminationSubmitted.type,
        DeterminationHeld.type,
        DeterminationProposed.type,
        MatchVerified.type,
        NoticeIssued.type,
        DeterminationContested.type,
        DeterminationContestRejected.type,
        DeterminationInEffect.type,
        DeterminationWithdrawn.type,
    }
)
DETERMINATIONS = Table(
    "determinations",
    "determination_id VARCHAR PRIMARY KEY",
    "kind VARCHAR",
    "authority VARCHAR",
    "agency VARCHAR",
    "effective_date VARCHAR",
    "evidence_ref VARCHAR",
    "identity VARCHAR",  # JSON
    "person_id BIGINT NULL",
    "match_probability DOUBLE NULL",
    "origin VARCHAR",
    "batch_id VARCHAR",
    "state VARCHAR",
    "hold_reasons VARCHAR",  # JSON
    "verified BOOLEAN",
    "notice_id VARCHAR",
    "notice_issued_on VARCHAR",
    "contest_by VARCHAR",
    "contest_case VARCHAR",
    "in_effect_on VARCHAR",
    "closed_reason VARCHAR",
    "submitted_at VARCHAR",
    "updated_seq BIGINT",
)
NOTICES = Table(
    "determination_notices",
    "notice_id VARCHAR PRIMARY KEY",
    "determination_id VARCHAR",
    "issued_on VARCHAR",
    "contest_by VARCHAR",
    "text VARCHAR",
    "seq BIGINT",
    "method VARCHAR",
    "sent_to VARCHAR",
    "issued_by VARCHAR",
)
_NAMES = DETERMINATIONS.columns
_JSON = ("identity", "hold_reasons")


def _to_row(st: DeterminationState) -> list[Any]:
    return [json.dumps(getattr(st, c)) if c in _JSON else getattr(st, c) for c in _NAMES]


def _from_row(row: Sequence[Any]) -> DeterminationState:
    d = dict(zip(_NAMES, row, strict=True))
    for c in _JSON:
        d[c] = json.loads(d[c])
    d["verified"] = bool(d["verified"])
    return DeterminationState(**d)


class DeterminationsProjection:
    """determinations (one row each, as they stand) and determination_notices."""

    name = "determinations"

    def ddl(self) -> list[str]:
        return [
            DETERMINATIONS.ddl,
            NOTICES.ddl,
            # issue 14: how and where each notice was sent (older files gain the columns)
            "ALTER TABLE determination_notices ADD COLUMN IF NOT EXISTS method VARCHAR DEFAULT ''",
            "ALTER TABLE determination_notices ADD COLUMN IF NOT EXISTS sent_to VARCHAR DEFAULT ''",
            "ALTER TABLE determination_notices ADD COLUMN IF NOT EXISTS issued_by VARCHAR "
            "DEFAULT ''",
        ]

    def tables(self) -> list[str]:
        return [DETERMINATIONS.name, NOTICES.name]

    def handles(self, event_type: str) -> bool:
        return event_type in _TYPES

    def apply(self, tx: Tx, events: Sequence[tuple[int, Event]]) -> None:
        ids = sorted({str(getattr(e, "determination_id")) for _, e in events})  # noqa: B009
        states = {
            r[0]: _from_row(r)
            for r in tx.select_in("determinations", _NAMES, "determination_id", ids)
        }
        notices: list[tuple[int, NoticeIssued]] = []
        for seq, e in events:
            did = str(getattr(e, "determination_id"))  # noqa: B009
            evolve_determination(states.setdefault(did, DeterminationState(did)), seq, e)
            if isinstance(e, NoticeIssued):
                notices.append((seq, e))
        tx.delete_in("determinations", "determination_id", ids)
        rows = [_to_row(s) for s in states.values()]
        tx.insert_arrow(
            DETERMINATIONS.name,
            DETERMINATIONS.from_rows(rows),
        )
        if notices:
            tx.insert_arrow(NOTICES.name, NOTICES.from_events(notices))


def get_determination(store: Store, determination_id: str) -> DeterminationState:
    rows = store.reader().select_in(
        "determinations", _NAMES, "determination_id", [determination_id]
    )
    if not rows:
        raise NotFound("no such determination", record_id=determination_id)
    return _from_row(rows[0])


def list_determinations(
    store: Store, *, person_id: int | None = None, state: str | None = None
) -> list[DeterminationState]:
    where: list[str] = ["1 = 1"]
    params: list[Any] = []
    if person_id is not None:
        where.append("person_id = ?")
        params.append(person_id)
    if state is not None:
        where.append("state = ?")
        params.append(state)
    rows = store.query(
        f"SELECT {', '.join(_NAMES)} FROM determinations WHERE {' AND '.join(where)} "
        "ORDER BY updated_seq, determination_id",
        params,
    )
    return [_from_row(r) for r in rows]


def notice_text_of(store: Store, notice_id: str) -> str | None:
    """The text of an issued notice, or None when no such notice is on file."""
    rows = store.query("SELECT text FROM determination_notices WHERE notice_id = ?", [notice_id])
    return str(rows[0][0]) if rows else None


# ── submitting (decide per determination, append) ─────────────────────────────────────
@dataclass
class SubmitResult:
    submitted: int = 0
    duplicates: int = 0
    proposed: int = 0
    held: int = 0
    notices: int = 0
    awaiting_verification: int = 0
    holds_by_reason: Counter[str] = field(default_factory=Counter)
    ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["holds_by_reason"] = dict(sorted(self.holds_by_reason.items()))
        d.pop("ids")
        return d


def _probe(item: DeterminationIn, did: str, agency: str) -> ReportReceived:
    """The subject as the linker reads it: a report-shaped record with no date of death."""
    return ReportReceived(
        report_key=f"determination/{did}",
        source_kind="federal_agency",
        source_id=agency or "agency",
        report_id=did,
        ssn=item.ssn,
        first_name=item.first_name,
        middle_name=item.middle_name,
        last_name=item.last_name,
        dob=item.dob,
    )


def decide_determination(
    item: DeterminationIn,
    did: str,
    link: LinkResult,
    person: PersonState | None,
    *,
    agency: str,
    origin: str,
    batch_id: str,
    today: date,
    at: str,
    ssn_on_file: bool,
) -> list[Event]:
    """Pure: the events one submitted determination leads to, checked on its own."""
    pid = link.person_id if person is not None else None
    submitted = DeterminationSubmitted(
        determination_id=did,
        kind=item.kind,
        authority=item.authority,
        agency=agency,
        effective_date=item.effective_date,
        evidence_ref=item.evidence_ref,
        identity=item.identity(),
        person_id=pid if pid is not None else link.person_id,
        match_probability=link.probability,
        origin=origin,
        batch_id=batch_id,
        at=at,
    )
    reasons = check_determination(item, link, person, ssn_on_file=ssn_on_file, today=today)
    if reasons:
        return [
            submitted,
            DeterminationHeld(determination_id=did, reasons=reasons, person_id=submitted.person_id),
            CaseOpened(
                case_id=f"D/{did}",
                kind="determination",
                person_id=submitted.person_id,
                about=did,
                reason="held for review: " + "; ".join(reasons),
                evidence=[item.evidence_ref] if item.evidence_ref else [],
                explanation=list(link.explanation) or ([link.reason] if link.reason else []),
                due=due_date(at, "determination"),
                opened_by=f"determinations:{agency}",
                at=at,
            ),
        ]
    # proposed: the notice is its own step (window.issue_notice), sent and recorded apart
    return [submitted, DeterminationProposed(determination_id=did, person_id=pid)]


def submit_determinations(
    store: Store,
    items: Sequence[DeterminationIn],
    *,
    agency: str,
    origin: str = "agency",
    batch_id: str = "",
    linker: Linker | None = None,
    now: datetime | None = None,
    commit_size: int = 50_000,
) -> SubmitResult:
    """Split a submission into one determination per person, check each alone, append.

    `linker` decides identity (the same linkage model as death reports; the rule linker by
    default): anything but a confident link to one person is held for review.
    """
    if not agency.strip():
        raise UsageError("a submission names its agency", field="agency")
    if origin not in ("agency", "computer_match"):
        raise UsageError("origin is agency or computer_match", field="origin")
    if linker is None:
        from vitalfile.link.rule import RuleLinker

        linker = RuleLinker()
    when = now or datetime.now(UTC)
    at, today = iso_now(when), when.date()
    result = SubmitResult()
    with store.transaction():
        ids = [it.determination_id(agency, origin) for it in items]
        known = {
            r[0]
            for r in store.reader().select_in(
                "determinations", ("determination_id",), "determination_id", sorted(set(ids))
            )
        }
        fresh: list[tuple[DeterminationIn, str]] = []
        seen: set[str] = set(known)
        for it, did in zip(items, ids, strict=True):
            if did in seen:
                result.duplicates += 1
                continue
            seen.add(did)
            fresh.append((it, did))
        probes = [_probe(it, did, agency) for it, did in fresh]
        links = {lr.report_key: lr for lr in linker.link(store, probes)} if probes else {}
        people = load_people(
            store, [lr.person_id for lr in links.values() if lr.person_id is not None]
        )
        ssns = sorted({it.ssn for it, _ in fresh})
        on_file = {str(r[0]) for r in store.reader().select_in("persons", ("ssn",), "ssn", ssns)}
        events: list[Event] = []
        for (it, did), probe in zip(fresh, probes, strict=True):
            link = links[probe.report_key]
            person = people.get(link.person_id) if link.person_id is not None else None
            if link.outcome != "linked":
                person = None
            decided = decide_determination(
                it,
                did,
                link,
                person,
                agency=agency,
                origin=origin,
                batch_id=batch_id,
                today=today,
                at=at,
                ssn_on_file=it.ssn in on_file,
            )
            result.submitted += 1
            result.ids.append(did)
            for e in decided:
                if isinstance(e, DeterminationHeld):
                    result.held += 1
                    result.holds_by_reason.update(e.reasons)
                elif isinstance(e, DeterminationProposed):
                    result.proposed += 1
                    if origin == "computer_match":
                        result.awaiting_verification += 1
                elif isinstance(e, NoticeIssued):
                    result.notices += 1
            events.extend(decided)
        for lo in range(0, len(events), commit_size):
            store.append(events[lo : lo + commit_size], note=f"determinations from {agency}")
    return result


def decide_determination_case(
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
    """A held determination: propose or withdraw. A contested one: withdraw or uphold."""
    when = now or datetime.now(UTC)
    at = iso_now(when)
    st = get_determination(store, case.about)
    did = st.determination_id
    decided = decision_event(case, decision, reviewer, reason, evidence, at)
    if decision == "withdraw" and st.state in ("held", "contested", "proposed", "notice_issued"):
        why = "contest succeeded: " if st.state == "contested" else ""
        return [
            decided,
            DeterminationWithdrawn(
                determination_id=did,
                person_id=st.person_id,
                reason=why + reason,
                decided_by=f"reviewer:{reviewer}",
            ),
        ]
    if decision == "propose" and st.state == "held":
        pid = person_id if person_id is not None else st.person_id
        if pid is None:
            raise UsageError("no person to propose it for: name one (--person) or withdraw")
        if not st.authority.strip():
            raise UsageError("a determination with no legal authority cannot be proposed")
        return [
            decided,
            DeterminationProposed(
                determination_id=did, person_id=pid, decided_by=f"reviewer:{reviewer}"
            ),
        ]
    if decision == "uphold" and st.state == "contested":
        return [
            decided,
            DeterminationContestRejected(
                determination_id=did, person_id=st.person_id, case_id=case.case_id, reason=reason
            ),
        ]
    raise UsageError(f"cannot {decision} a determination that is {st.state}", case=case.case_id)


register_decider("determination", decide_determination_case)
