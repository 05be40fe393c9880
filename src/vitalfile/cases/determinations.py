"""The determinations register: findings about living people, kept apart from deaths.

A determination (for example `benefit_ineligible` under an authority, from a date) has its
own events and its own tables (`determinations`, `determination_notices`); nothing here
reads or writes a death, a DMF file or a verification answer. Its life: submitted → held for
review (a minor, a weak identity match, no authority…) or proposed → notice issued → 30-day
contest window → in effect; or withdrawn (by a reviewer, or a contest that succeeds). A
computer-match result stays unverified — no notice, no effect — until an independent
verification event. A bulk submission is split into one determination per person, each
checked alone. It is shown only to recipients whose agreement names its kind, once in effect.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from vitalfile.cases.framework import CaseState, decision_event, register_decider
from vitalfile.cases.notices import notice_text, write_notice_pdf
from vitalfile.dates import age_on, due_date, iso_now
from vitalfile.errors import NotFound, RecordError, UsageError
from vitalfile.events import (
    CaseOpened,
    DeterminationContested,
    DeterminationContestRejected,
    DeterminationHeld,
    DeterminationInEffect,
    DeterminationProposed,
    DeterminationSubmitted,
    DeterminationWithdrawn,
    DisclosureMade,
    Event,
    MatchVerified,
    NoticeIssued,
    ReportReceived,
)
from vitalfile.ledger.store import Store, Tx
from vitalfile.link.base import Linker, LinkResult
from vitalfile.master.projection import PersonState, load_people
from vitalfile.sources.csv import iter_rows

__all__ = [
    "CONTEST_DAYS",
    "HOLD_REASONS",
    "DeterminationIn",
    "DeterminationState",
    "DeterminationsProjection",
    "SubmitResult",
    "advance",
    "check_determination",
    "contest",
    "decide_determination_case",
    "determinations_for",
    "evolve_determination",
    "get_determination",
    "list_determinations",
    "read_determinations",
    "submit_determinations",
    "verify_match",
    "write_notice",
]

CONTEST_DAYS = 30
MINOR_AGE = 18
STRONG_MATCH = 0.999  # the linkage model's automatic-link probability (link.decide default)
HOLD_REASONS = {
    "authority": "legal authority missing",
    "minor": "subject is a minor",
    "age_unknown": "subject's age unknown (may be a minor)",
    "weak_match": "weak identity match",
    "no_match": "no person on file matches",
    "dead": "subject has a death on file",
    "no_date": "effective date missing",
}
_KIND = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
HEADER = (
    "ssn",
    "first_name",
    "middle_name",
    "last_name",
    "dob",
    "kind",
    "authority",
    "effective_date",
    "evidence_ref",
)


# ── input ─────────────────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class DeterminationIn:
    """One determination as an agency submitted it (one line of a bulk submission)."""

    ssn: str
    kind: str
    authority: str
    effective_date: str
    evidence_ref: str = ""
    first_name: str = ""
    middle_name: str = ""
    last_name: str = ""
    dob: str = ""
    line: int = 0

    def identity(self) -> dict[str, str]:
        return {
            "ssn": self.ssn,
            "first_name": self.first_name,
            "middle_name": self.middle_name,
            "last_name": self.last_name,
            "dob": self.dob,
        }

    def determination_id(self, agency: str, origin: str) -> str:
        text = "|".join(
            (agency, origin, self.ssn, self.kind, self.effective_date, self.evidence_ref)
        )
        return "DT-" + hashlib.sha256(text.encode()).hexdigest()[:16]


def _iso_or_blank(text: str) -> bool:
    if text == "":
        return True
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def read_determinations(path: Path) -> tuple[list[DeterminationIn], list[RecordError]]:
    """A submission CSV (`ssn,first_name,middle_name,last_name,dob,kind,authority,
    effective_date,evidence_ref`): one determination per line, and every problem by line."""
    items: list[DeterminationIn] = []
    errors: list[RecordError] = []
    for item in iter_rows(path, HEADER):
        if isinstance(item, RecordError):
            errors.append(item)
            continue
        i, v = item
        ssn = v["ssn"]  # 9 digits: iter_rows parsed it
        if not (len(ssn) == 9 and ssn.isdigit()):
            errors.append(RecordError("not a 9-digit SSN", line=i, field="ssn", file=path.name))
            continue
        if not _KIND.match(v["kind"]):
            errors.append(
                RecordError("kind must be a lower-case word", line=i, field="kind", file=path.name)
            )
            continue
        bad = [f for f in ("dob", "effective_date") if not _iso_or_blank(v[f])]
        if bad:
            errors.append(RecordError("not an ISO date", line=i, field=bad[0], file=path.name))
            continue
        items.append(
            DeterminationIn(
                ssn=ssn,
                kind=v["kind"],
                authority=v["authority"],
                effective_date=v["effective_date"],
                evidence_ref=v["evidence_ref"],
                first_name=v["first_name"],
                middle_name=v["middle_name"],
                last_name=v["last_name"],
                dob=v["dob"],
                line=i,
            )
        )
    return items, errors


# ── the checks (pure) ─────────────────────────────────────────────────────────────────
def check_determination(
    item: DeterminationIn,
    link: LinkResult,
    person: PersonState | None,
    *,
    ssn_on_file: bool,
    today: date,
) -> list[str]:
    """Why this determination must be held for review ([] when it may be proposed).

    `person` is the person the linker linked it to (None unless linked); `ssn_on_file`
    says whether anyone on file has the SSN as supplied (a weak match, not no match).
    """
    reasons: list[str] = []
    if not item.authority.strip():
        reasons.append(HOLD_REASONS["authority"])
    if not item.effective_date:
        reasons.append(HOLD_REASONS["no_date"])
    if person is None or link.outcome != "linked":
        weak = link.outcome == "held" or link.person_id is not None or ssn_on_file
        reasons.append(HOLD_REASONS["weak_match" if weak else "no_match"])
    elif (link.probability is not None and link.probability < STRONG_MATCH) or (
        person.person is not None and person.person.get("ssn") != item.ssn
    ):
        # an adverse finding needs the SSN as supplied to be the person's own
        reasons.append(HOLD_REASONS["weak_match"])
    on = item.effective_date or today.isoformat()
    on_file = person.person.get("dob", "") if person is not None and person.person else ""
    ages = [a for a in (age_on(d, on) for d in (item.dob, on_file) if d) if a is not None]
    if not ages:
        reasons.append(HOLD_REASONS["age_unknown"])
    elif min(ages) < MINOR_AGE:
        reasons.append(HOLD_REASONS["minor"])
    if person is not None and person.death is not None and person.death.status == "current":
        reasons.append(HOLD_REASONS["dead"])
    return reasons


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
_COLS: tuple[tuple[str, Any], ...] = (
    ("determination_id", pa.string()),
    ("kind", pa.string()),
    ("authority", pa.string()),
    ("agency", pa.string()),
    ("effective_date", pa.string()),
    ("evidence_ref", pa.string()),
    ("identity", pa.string()),
    ("person_id", pa.int64()),
    ("match_probability", pa.float64()),
    ("origin", pa.string()),
    ("batch_id", pa.string()),
    ("state", pa.string()),
    ("hold_reasons", pa.string()),
    ("verified", pa.bool_()),
    ("notice_id", pa.string()),
    ("notice_issued_on", pa.string()),
    ("contest_by", pa.string()),
    ("contest_case", pa.string()),
    ("in_effect_on", pa.string()),
    ("closed_reason", pa.string()),
    ("submitted_at", pa.string()),
    ("updated_seq", pa.int64()),
)
_NAMES = tuple(c for c, _ in _COLS)
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
        types = {"pa_int64": "BIGINT", "pa_float": "DOUBLE", "pa_bool": "BOOLEAN"}
        cols = []
        for c, t in _COLS:
            sql = (
                types["pa_int64"]
                if t == pa.int64()
                else types["pa_float"]
                if t == pa.float64()
                else types["pa_bool"]
                if t == pa.bool_()
                else "VARCHAR"
            )
            null = "" if c in ("person_id", "match_probability") else " NOT NULL"
            key = " PRIMARY KEY" if c == "determination_id" else ""
            cols.append(f"{c} {sql}{null}{key}")
        return [
            f"CREATE TABLE IF NOT EXISTS determinations ({', '.join(cols)})",
            """CREATE TABLE IF NOT EXISTS determination_notices (notice_id VARCHAR PRIMARY KEY,
                determination_id VARCHAR NOT NULL, issued_on VARCHAR NOT NULL,
                contest_by VARCHAR NOT NULL, text VARCHAR NOT NULL, seq BIGINT NOT NULL)""",
        ]

    def tables(self) -> list[str]:
        return ["determinations", "determination_notices"]

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
            "determinations",
            pa.table({c: pa.array([r[i] for r in rows], t) for i, (c, t) in enumerate(_COLS)}),
        )
        if notices:
            tx.insert_arrow(
                "determination_notices",
                pa.table(
                    {
                        "notice_id": pa.array([e.notice_id for _, e in notices], pa.string()),
                        "determination_id": pa.array(
                            [e.determination_id for _, e in notices], pa.string()
                        ),
                        "issued_on": pa.array([e.issued_on for _, e in notices], pa.string()),
                        "contest_by": pa.array([e.contest_by for _, e in notices], pa.string()),
                        "text": pa.array([e.text for _, e in notices], pa.string()),
                        "seq": pa.array([s for s, _ in notices], pa.int64()),
                    }
                ),
            )


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


# ── notices ───────────────────────────────────────────────────────────────────────────
def _notice(st: DeterminationState, issued_on: date) -> NoticeIssued:
    contest_by = issued_on + timedelta(days=CONTEST_DAYS)
    notice_id = f"N-{st.determination_id[3:]}-{issued_on:%Y%m%d}"
    text = notice_text(
        notice_id=notice_id,
        determination_id=st.determination_id,
        kind=st.kind,
        authority=st.authority,
        agency=st.agency,
        effective_date=st.effective_date,
        issued_on=issued_on.isoformat(),
        contest_by=contest_by.isoformat(),
        identity=st.identity,
        computer_match=st.origin == "computer_match",
    )
    return NoticeIssued(
        determination_id=st.determination_id,
        person_id=st.person_id,
        notice_id=notice_id,
        issued_on=issued_on.isoformat(),
        contest_by=contest_by.isoformat(),
        text=text,
    )


def write_notice(store: Store, determination_id: str, out_dir: Path) -> tuple[Path, Path]:
    """The determination's notice as `NOTICE.txt` and `NOTICE.pdf` in `out_dir`."""
    st = get_determination(store, determination_id)
    rows = store.query(
        "SELECT notice_id, text FROM determination_notices WHERE determination_id = ? "
        "ORDER BY seq DESC LIMIT 1",
        [determination_id],
    )
    if not rows:
        raise NotFound("no notice issued for this determination", record_id=st.determination_id)
    notice_id, text = str(rows[0][0]), str(rows[0][1])
    out_dir.mkdir(parents=True, exist_ok=True)
    txt = out_dir / f"{notice_id}.txt"
    txt.write_text(text, encoding="ascii")
    return txt, write_notice_pdf(text, out_dir / f"{notice_id}.pdf")


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
    events: list[Event] = [
        submitted,
        DeterminationProposed(determination_id=did, person_id=pid),
    ]
    if origin == "agency":
        st = evolve_determination(DeterminationState(did), 0, submitted)
        events.append(_notice(st, today))
    return events


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


# ── the life after submission ─────────────────────────────────────────────────────────
def verify_match(
    store: Store,
    determination_id: str,
    *,
    verified_by: str,
    method: str,
    evidence: Sequence[str] = (),
    now: datetime | None = None,
) -> NoticeIssued:
    """Record the independent verification of a computer-match result and issue its notice."""
    if not verified_by or not method:
        raise UsageError("a verification names who verified and how")
    when = now or datetime.now(UTC)
    with store.transaction():
        st = get_determination(store, determination_id)
        if st.origin != "computer_match":
            raise UsageError(
                "only a computer-match result needs verifying", record_id=st.determination_id
            )
        if st.verified or st.state != "proposed":
            raise UsageError(
                f"the determination is {st.state}, not awaiting verification",
                record_id=st.determination_id,
            )
        notice = _notice(st, when.date())
        store.append(
            [
                MatchVerified(
                    determination_id=determination_id,
                    person_id=st.person_id,
                    verified_by=verified_by,
                    method=method,
                    evidence=list(evidence),
                    at=iso_now(when),
                ),
                notice,
            ],
            note="match verified",
        )
    return notice


def contest(
    store: Store,
    determination_id: str,
    *,
    ground: str,
    evidence: Sequence[str] = (),
    now: datetime | None = None,
) -> str:
    """The subject contests within the window: the determination waits for a reviewer."""
    if not ground:
        raise UsageError("a contest states its ground", field="ground")
    when = now or datetime.now(UTC)
    with store.transaction():
        st = get_determination(store, determination_id)
        if st.state != "notice_issued":
            raise UsageError(
                f"the determination is {st.state}: nothing to contest",
                record_id=st.determination_id,
            )
        if when.date().isoformat() > st.contest_by:
            raise UsageError(
                f"the contest window closed on {st.contest_by}", record_id=st.determination_id
            )
        n = len(
            store.query(
                "SELECT 1 FROM cases WHERE about = ? AND kind = 'determination'", [determination_id]
            )
        )
        case_id = f"X/{determination_id}/{n + 1}"
        at = iso_now(when)
        store.append(
            [
                CaseOpened(
                    case_id=case_id,
                    kind="determination",
                    person_id=st.person_id,
                    about=determination_id,
                    reason=f"contested: {ground}",
                    evidence=list(evidence),
                    due=due_date(at, "determination"),
                    opened_by="subject",
                    at=at,
                ),
                DeterminationContested(
                    determination_id=determination_id,
                    person_id=st.person_id,
                    case_id=case_id,
                    ground=ground,
                    on=when.date().isoformat(),
                ),
            ],
            note="determination contested",
        )
    return case_id


def advance(store: Store, *, today: date | None = None) -> list[str]:
    """Put in effect every determination whose notice period has passed uncontested (and,
    for a computer match, that was independently verified). Each gets its own event."""
    day = (today or date.today()).isoformat()
    with store.transaction():
        rows = store.query(
            "SELECT determination_id, person_id FROM determinations WHERE state = 'notice_issued' "
            "AND contest_by < ? AND (origin = 'agency' OR verified) ORDER BY determination_id",
            [day],
        )
        events: list[Event] = [
            DeterminationInEffect(
                determination_id=str(d), person_id=None if p is None else int(p), on=day
            )
            for d, p in rows
        ]
        if events:
            store.append(events, note="determinations in effect")
    return [str(r[0]) for r in rows]


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
        events: list[Event] = [
            decided,
            DeterminationProposed(
                determination_id=did, person_id=pid, decided_by=f"reviewer:{reviewer}"
            ),
        ]
        if st.origin == "agency":
            st.person_id = pid
            events.append(_notice(st, when.date()))
        return events
    if decision == "uphold" and st.state == "contested":
        return [
            decided,
            DeterminationContestRejected(
                determination_id=did, person_id=st.person_id, case_id=case.case_id, reason=reason
            ),
        ]
    raise UsageError(f"cannot {decision} a determination that is {st.state}", case=case.case_id)


# ── showing (through the gate) ────────────────────────────────────────────────────────
def determinations_for(
    store: Store, recipient: str, ssn: str, *, on: date | None = None
) -> list[dict[str, Any]]:
    """The determinations in effect about this SSN that `recipient`'s agreement covers.

    Goes through the disclosure gate (a refusal is recorded and raised); the answer is a
    `disclosure.made` event on the `determination` channel, in the person's accounting.
    """
    from vitalfile.disclosure.policy import gate, refuse

    day = on or date.today()
    from vitalfile.master.projection import find_person_ids

    pids = find_person_ids(store, ssn)
    if not pids:
        raise NotFound("no person with this SSN on file", field="ssn")
    grant = gate(
        store, recipient, channel="determination", fields=("ssn",), on=day, person_ids=pids
    )
    if not grant.determination_kinds:
        raise refuse(
            store,
            recipient,
            "the agreement names no kind of determination",
            channel="determination",
            agreement_id=grant.agreement_id,
            purpose=grant.purpose,
            person_ids=pids,
        )
    out: list[dict[str, Any]] = []
    given: list[str] = []
    for pid in pids:
        found = [
            d
            for d in list_determinations(store, person_id=pid, state="in_effect")
            if d.kind in grant.determination_kinds
        ]
        for d in found:
            out.append(
                {
                    "person_id": pid,
                    "determination_id": d.determination_id,
                    "kind": d.kind,
                    "authority": d.authority,
                    "agency": d.agency,
                    "effective_date": d.effective_date,
                    "in_effect_on": d.in_effect_on,
                }
            )
        given.append(
            "; ".join(f"{d.kind} under {d.authority} from {d.effective_date}" for d in found)
            or "no determination in effect"
        )
    store.append(
        [
            DisclosureMade(
                disclosure_id=hashlib.sha256(f"{recipient}|{ssn}|{iso_now()}".encode()).hexdigest()[
                    :20
                ],
                recipient=recipient,
                agreement_id=grant.agreement_id,
                purpose=grant.purpose,
                authority=grant.authority,
                channel="determination",
                fields=["determinations"],
                person_ids=pids,
                given=given,
                at=iso_now(),
            )
        ],
        note="determination answer",
    )
    return out


register_decider("determination", decide_determination_case)
