"""Cases: the review queue, disputes and resurrection, with owners, due dates and decisions.

A case is events all the way: `case.opened`, `case.assigned`, `case.decided`, and — for the
review cases of held reports — `report.held` itself (the projection opens a review case when
it sees one, so every path that holds a report fills the queue without a second event).
`evolve_case` replays those events with no checks; the `decide_*` functions are the rules,
pure where they can be, and `decide` (in `cases/decide.py`, the dispatcher) appends what they
return in one commit. This module never writes a delivery or a disclosure: a retraction
queues corrections for the recipients the `delivered` projection says hold the death.
"""

from __future__ import annotations

import bisect
import json
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pyarrow as pa

from vitalfile.dates import DUE_DAYS, due_date, iso_now
from vitalfile.errors import NotFound, StateConflict, UsageError
from vitalfile.events import (
    REPORT_FIELDS,
    REPORT_KEY_FIELDS,
    CaseAssigned,
    CaseDecided,
    CaseOpened,
    CorrectionQueued,
    DeathRetracted,
    Event,
    LinkUndone,
    ReportHeld,
    ReportReceived,
    ReportUnlinked,
)
from vitalfile.ledger.store import Store, Tx
from vitalfile.ledger.table import Table
from vitalfile.link.base import LinkResult
from vitalfile.master.projection import PersonState, ReportState, load_people

__all__ = [
    "CASE_KINDS",
    "DUE_DAYS",
    "FINDINGS",
    "CaseState",
    "CasesProjection",
    "Decision",
    "assign",
    "decide_retraction",
    "decide_review",
    "decision_event",
    "due_date",
    "evolve_case",
    "get_case",
    "holders_of",
    "iso_now",
    "list_cases",
    "open_case",
    "open_dispute",
    "review_case_id",
]

CASE_KINDS = ("review", "dispute", "determination", "disclosure_request", "research")
FINDINGS = {
    "not-this-person": "not about this person",
    "erroneous": "erroneous report",
}


def review_case_id(report_key: str) -> str:
    """The review case a held report opens (one per report)."""
    return f"R/{report_key}"


# ── state and replay ──────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class Decision:
    seq: int
    decision: str
    reviewer: str
    reason: str
    evidence: tuple[str, ...]
    at: str
    closes: bool


@dataclass
class CaseState:
    case_id: str
    kind: str = ""
    person_id: int | None = None
    about: str = ""
    state: str = "open"  # open | closed
    owner: str = ""
    due: str = ""
    opened_seq: int = 0
    opened_at: str = ""
    reason: str = ""
    evidence: list[str] = field(default_factory=list)
    explanation: list[str] = field(default_factory=list)
    decision: str = ""
    updated_seq: int = 0
    history: list[Decision] = field(default_factory=list)

    def overdue(self, today: date) -> bool:
        return self.state == "open" and bool(self.due) and self.due < today.isoformat()

    def as_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "history"}
        d["history"] = [h.__dict__ | {"evidence": list(h.evidence)} for h in self.history]
        return d


def evolve_case(state: CaseState, seq: int, event: Event, *, at: str = "") -> CaseState:
    """Apply one event to a case (no checks). `at` is the commit time, for `report.held`."""
    if isinstance(event, CaseOpened):
        state.kind, state.person_id, state.about = event.kind, event.person_id, event.about
        state.state, state.owner, state.due = "open", event.owner, event.due
        state.opened_seq, state.opened_at = seq, event.at
        state.reason, state.evidence = event.reason, list(event.evidence)
        state.explanation, state.decision = list(event.explanation), ""
    elif isinstance(event, ReportHeld):
        if state.kind and state.state == "open":
            # held again (an amended report): the latest reasons replace the old ones
            state.reason, state.explanation = event.reason, list(event.explanation)
            state.person_id = event.person_id
        else:
            state.kind, state.person_id, state.about = "review", event.person_id, event.report_key
            state.state, state.owner, state.due = "open", "", due_date(at, "review")
            state.opened_seq, state.opened_at = seq, at
            state.reason, state.explanation = event.reason, list(event.explanation)
            state.evidence, state.decision = [], ""
            if event.runner_up is not None:
                state.explanation = [
                    *state.explanation,
                    f"runner-up candidate: person {event.runner_up}",
                ]
    elif isinstance(event, CaseAssigned):
        state.owner = event.owner
    elif isinstance(event, CaseDecided):
        state.history.append(
            Decision(
                seq,
                event.decision,
                event.reviewer,
                event.reason,
                tuple(event.evidence),
                event.at,
                event.closes,
            )
        )
        state.decision = event.decision
        if event.closes:
            state.state = "closed"
    state.updated_seq = seq
    return state


def _case_id_of(event: Event) -> str:
    if isinstance(event, ReportHeld):
        return review_case_id(event.report_key)
    return str(getattr(event, "case_id"))  # noqa: B009


CASES = Table(
    "cases",
    "case_id VARCHAR PRIMARY KEY",
    "kind VARCHAR",
    "person_id BIGINT NULL",
    "about VARCHAR",
    "state VARCHAR",
    "owner VARCHAR",
    "due VARCHAR",
    "opened_seq BIGINT",
    "opened_at VARCHAR",
    "reason VARCHAR",
    "evidence VARCHAR",  # JSON lists
    "explanation VARCHAR",
    "decision VARCHAR",
    "updated_seq BIGINT",
)
CASE_DECISIONS = Table(
    "case_decisions",
    "case_id VARCHAR",
    "seq BIGINT",
    "decision VARCHAR",
    "reviewer VARCHAR",
    "reason VARCHAR",
    "evidence VARCHAR",
    "at_time VARCHAR",
    "closes BOOLEAN",
)
CORRECTIONS_QUEUED = Table(
    "corrections_queued",
    "person_id BIGINT",
    "case_id VARCHAR",
    "recipient VARCHAR",
    "death_version INTEGER",
    "change VARCHAR",
    "seq BIGINT",
    "at_time VARCHAR",
)
_TYPES = frozenset(
    {
        CaseOpened.type,
        CaseAssigned.type,
        CaseDecided.type,
        ReportHeld.type,
        CorrectionQueued.type,
    }
)


class CasesProjection:
    """cases (one row per case), case_decisions (its history), corrections_queued."""

    name = "cases"

    def ddl(self) -> list[str]:
        return [t.ddl for t in (CASES, CASE_DECISIONS, CORRECTIONS_QUEUED)]

    def tables(self) -> list[str]:
        return [t.name for t in (CASES, CASE_DECISIONS, CORRECTIONS_QUEUED)]

    def handles(self, event_type: str) -> bool:
        return event_type in _TYPES

    def apply(self, tx: Tx, events: Sequence[tuple[int, Event]]) -> None:
        queued = [(s, e) for s, e in events if isinstance(e, CorrectionQueued)]
        if queued:
            tx.insert_arrow(
                CORRECTIONS_QUEUED.name,
                CORRECTIONS_QUEUED.from_rows(
                    [
                        (e.person_id, e.case_id, r, e.death_version, e.change, s, e.at)
                        for s, e in queued
                        for r in e.recipients
                    ]
                ),
            )
        mine = [(s, e) for s, e in events if not isinstance(e, CorrectionQueued)]
        if not mine:
            return
        ids = sorted({_case_id_of(e) for _, e in mine})
        states = _load_cases(tx, ids)
        held = [s for s, e in mine if isinstance(e, ReportHeld)]
        times = _commit_times(tx, held[0], held[-1]) if held else []
        decisions: list[tuple[str, int, CaseDecided]] = []
        for seq, e in mine:
            cid = _case_id_of(e)
            at = _time_of(times, seq) if isinstance(e, ReportHeld) else ""
            evolve_case(states.setdefault(cid, CaseState(cid)), seq, e, at=at)
            if isinstance(e, CaseDecided):
                decisions.append((cid, seq, e))
        tx.delete_in("cases", "case_id", ids)
        rows_c = [st for st in states.values() if st.kind]
        tx.insert_arrow("cases", _cases_table(rows_c))
        if decisions:
            tx.insert_arrow(
                CASE_DECISIONS.name,
                CASE_DECISIONS.from_rows(
                    [
                        (
                            c,
                            s,
                            e.decision,
                            e.reviewer,
                            e.reason,
                            json.dumps(e.evidence),
                            e.at,
                            e.closes,
                        )
                        for c, s, e in decisions
                    ]
                ),
            )


def _commit_times(tx: Tx, lo: int, hi: int) -> list[tuple[int, str]]:
    """(first_seq, committed_at) of the commits holding events lo..hi, in order."""
    rows = tx.fetchall(
        "SELECT first_seq, committed_at FROM ledger_commits "
        "WHERE first_seq + n_events > ? AND first_seq <= ? ORDER BY first_seq",
        [lo, hi],
    )
    return [(int(a), str(b)) for a, b in rows]


def _time_of(times: Sequence[tuple[int, str]], seq: int) -> str:
    i = bisect.bisect_right([t[0] for t in times], seq) - 1
    return times[i][1] if i >= 0 else ""


def _cases_table(states: Sequence[CaseState]) -> pa.Table:
    return CASES.from_rows(
        [
            (
                s.case_id,
                s.kind,
                s.person_id,
                s.about,
                s.state,
                s.owner,
                s.due,
                s.opened_seq,
                s.opened_at,
                s.reason,
                json.dumps(s.evidence),
                json.dumps(s.explanation),
                s.decision,
                s.updated_seq,
            )
            for s in states
        ]
    )


def _row_state(row: Sequence[Any]) -> CaseState:
    d = dict(zip(CASES.columns, row, strict=True))
    return CaseState(
        case_id=d["case_id"],
        kind=d["kind"],
        person_id=None if d["person_id"] is None else int(d["person_id"]),
        about=d["about"],
        state=d["state"],
        owner=d["owner"],
        due=d["due"],
        opened_seq=int(d["opened_seq"]),
        opened_at=d["opened_at"],
        reason=d["reason"],
        evidence=json.loads(d["evidence"]),
        explanation=json.loads(d["explanation"]),
        decision=d["decision"],
        updated_seq=int(d["updated_seq"]),
    )


def _load_cases(tx: Tx, ids: Sequence[str]) -> dict[str, CaseState]:
    return {r[0]: _row_state(r) for r in tx.select_in(CASES.name, CASES.columns, "case_id", ids)}


# ── reading ───────────────────────────────────────────────────────────────────────────
def get_case(store: Store, case_id: str) -> CaseState:
    """A case with its history of decisions, or NotFound."""
    found = _load_cases(store.reader(), [case_id])
    if case_id not in found:
        raise NotFound("no such case", case=case_id)
    st = found[case_id]
    for seq, dec, rev, reason, ev, at, closes in store.query(
        "SELECT seq, decision, reviewer, reason, evidence, at_time, closes FROM case_decisions "
        "WHERE case_id = ? ORDER BY seq",
        [case_id],
    ):
        st.history.append(
            Decision(int(seq), dec, rev, reason, tuple(json.loads(ev)), at, bool(closes))
        )
    return st


def list_cases(
    store: Store,
    *,
    kind: str | None = None,
    state: str | None = "open",
    overdue: bool = False,
    person_id: int | None = None,
    today: date | None = None,
    limit: int | None = None,
) -> list[CaseState]:
    """Cases, oldest due first; `overdue` keeps the open ones past their due date."""
    if kind is not None and kind not in CASE_KINDS:
        raise UsageError(f"kind must be one of {', '.join(CASE_KINDS)}", field="kind")
    where: list[str] = ["1 = 1"]
    params: list[Any] = []
    if kind is not None:
        where.append("kind = ?")
        params.append(kind)
    if overdue:
        where.append("state = 'open' AND due <> '' AND due < ?")
        params.append((today or date.today()).isoformat())
    elif state is not None:
        where.append("state = ?")
        params.append(state)
    if person_id is not None:
        where.append("person_id = ?")
        params.append(person_id)
    sql = (
        f"SELECT {', '.join(CASES.columns)} FROM cases WHERE {' AND '.join(where)} "
        "ORDER BY due, opened_seq, case_id"
    )
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return [_row_state(r) for r in store.query(sql, params)]


def holders_of(store: Store, person_id: int) -> list[tuple[str, int]]:
    """(recipient, version) of every recipient that holds a version of this person's death.

    A recipient holds what its last full delivery gave, as changed by the updates after it
    (the same rule as `distribute.holdings_sql`, for one person).
    """
    rows = store.query(
        "SELECT t.recipient, t.version FROM (SELECT x.recipient, x.version, x.action, "
        "ROW_NUMBER() OVER (PARTITION BY x.recipient ORDER BY x.seq DESC) AS rn "
        "FROM delivered x WHERE x.person_id = ? AND x.seq >= (SELECT coalesce(max(f.seq), 0) "
        "FROM deliveries f WHERE f.recipient = x.recipient AND f.kind = 'full')) t "
        "WHERE t.rn = 1 AND t.action <> 'D' ORDER BY t.recipient",
        [person_id],
    )
    return [(str(r), int(v)) for r, v in rows]


# ── opening and assigning ─────────────────────────────────────────────────────────────
def open_case(
    store: Store,
    kind: str,
    *,
    person_id: int | None,
    about: str = "",
    reason: str = "",
    evidence: Sequence[str] = (),
    owner: str = "",
    opened_by: str = "",
    case_id: str | None = None,
    now: datetime | None = None,
    extra: Sequence[Event] = (),
) -> str:
    """Open a case (and append `extra` events in the same commit); returns its id."""
    if kind not in CASE_KINDS:
        raise UsageError(f"kind must be one of {', '.join(CASE_KINDS)}", field="kind")
    at = iso_now(now)
    cid = case_id or f"{kind[0].upper()}-{uuid.uuid4().hex[:12]}"
    store.append(
        [
            CaseOpened(
                case_id=cid,
                kind=kind,
                person_id=person_id,
                about=about,
                reason=reason,
                owner=owner,
                due=due_date(at, kind),
                evidence=list(evidence),
                opened_by=opened_by,
                at=at,
            ),
            *extra,
        ],
        note=f"case {kind}",
    )
    return cid


def assign(store: Store, case_id: str, owner: str, *, now: datetime | None = None) -> None:
    with store.transaction():
        st = get_case(store, case_id)
        if st.state != "open":
            raise StateConflict("the case is closed", case=case_id)
        store.append([CaseAssigned(case_id=case_id, owner=owner, at=iso_now(now))])


def _one_person_with_death(store: Store, ssn: str) -> PersonState:
    from vitalfile.master.projection import find_person_ids

    ids = find_person_ids(store, ssn)
    if not ids:
        raise NotFound("no person with this SSN on file", field="ssn")
    people = load_people(store, ids)
    dead = [p for p in people.values() if p.death is not None and p.death.status == "current"]
    if not dead:
        raise UsageError("this person has no death on file to dispute", field="ssn")
    if len(dead) > 1:
        raise UsageError("several people with this SSN have a death on file", field="ssn")
    return dead[0]


def open_dispute(
    store: Store,
    ssn: str,
    *,
    evidence: Sequence[str],
    reason: str = "the person says they are alive",
    opened_by: str = "",
    owner: str = "",
    now: datetime | None = None,
) -> str:
    """Open a dispute on the current death of the person with this SSN (a resurrection)."""
    if not evidence:
        raise UsageError("a dispute names its evidence (at least one reference)", field="evidence")
    with store.transaction():
        person = _one_person_with_death(store, ssn)
        assert person.death is not None
        open_ = [
            c
            for c in list_cases(store, kind="dispute", person_id=person.person_id)
            if c.state == "open"
        ]
        if open_:
            raise UsageError("an open dispute on this death exists", case=open_[0].case_id)
        return open_case(
            store,
            "dispute",
            person_id=person.person_id,
            about=f"death:{person.person_id}:v{person.death.version}",
            reason=reason,
            evidence=evidence,
            owner=owner,
            opened_by=opened_by,
            now=now,
        )


# ── deciding ──────────────────────────────────────────────────────────────────────────
def decision_event(
    case: CaseState,
    decision: str,
    reviewer: str,
    reason: str,
    evidence: Sequence[str],
    at: str,
    closes: bool = True,
) -> CaseDecided:
    return CaseDecided(
        case_id=case.case_id,
        decision=decision,
        reviewer=reviewer,
        reason=reason,
        evidence=list(evidence),
        closes=closes,
        at=at,
    )


def decide_retraction(
    case: CaseState,
    person: PersonState,
    holders: Sequence[tuple[str, int]],
    *,
    reviewer: str,
    reason: str,
    evidence: Sequence[str],
    finding: str,
    at: str,
    reports: Collection[str] | None = None,
) -> list[Event]:
    """Pure: end the death; its reports stay, each marked with the finding; queue corrections.

    `reports`: the death's report keys that are on file (all of them when None); only those
    get a `link.undone` (a death taken over from a DMF file has none).
    """
    if person.death is None or person.death.status != "current":
        raise UsageError("this person has no current death to retract", case=case.case_id)
    if finding not in FINDINGS:
        raise UsageError(f"finding must be one of {', '.join(FINDINGS)}", field="finding")
    pid = person.person_id
    death = person.death
    events: list[Event] = [
        decision_event(case, "retract", reviewer, reason, [*case.evidence, *evidence], at),
        DeathRetracted(
            person_id=pid,
            reason=reason,
            evidence=[*case.evidence, *evidence],
            decided_by=f"reviewer:{reviewer}",
            report_keys=list(death.report_keys),
        ),
    ]
    for key in death.report_keys:
        if reports is not None and key not in reports:
            continue
        events.append(
            LinkUndone(
                report_key=key,
                person_id=pid,
                reviewer=reviewer,
                reason=f"{FINDINGS[finding]}: {reason}",
            )
        )
    if holders:
        events.append(
            CorrectionQueued(
                person_id=pid,
                case_id=case.case_id,
                recipients=sorted({r for r, _ in holders}),
                death_version=death.version + 1,
                change="retracted",
                at=at,
            )
        )
    return events


def _report_of(rs: ReportState) -> ReportReceived:
    f = rs.fields
    return ReportReceived(
        report_key=rs.report_key,
        **{k: f[k] for k in REPORT_KEY_FIELDS},
        **{k: f.get(k, "") for k in REPORT_FIELDS},
    )


def decide_review(
    case: CaseState,
    report: ReportState,
    person: PersonState | None,
    decision: str,
    *,
    reviewer: str,
    reason: str,
    evidence: Sequence[str],
    at: str,
) -> list[Event]:
    """Pure: a reviewer links a held report (and the death is posted as the rules say) or
    rejects it (the candidate link undone, or the report left unlinked)."""
    from vitalfile.intake.post import decide_report

    if decision == "link":
        if person is None:
            raise UsageError("link to whom? name a person (--person)", case=case.case_id)
        if person.person_id in report.vetoes:
            raise StateConflict("a reviewer already undid this link", case=case.case_id)
        link = LinkResult(
            report.report_key,
            "linked",
            person_id=person.person_id,
            probability=report.match_probability,
            decided_by=f"reviewer:{reviewer}",
        )
        return [
            decision_event(case, "link", reviewer, reason, evidence, at),
            *decide_report(_report_of(report), link, person, []),
        ]
    if decision == "reject":
        undo: Event = (
            LinkUndone(
                report_key=report.report_key,
                person_id=case.person_id,
                reviewer=reviewer,
                reason=reason,
            )
            if case.person_id is not None
            else ReportUnlinked(report_key=report.report_key, reason=f"reviewer: {reason}")
        )
        return [decision_event(case, "reject", reviewer, reason, evidence, at), undo]
    raise UsageError("a held report is decided 'link' or 'reject'", field="decision")
