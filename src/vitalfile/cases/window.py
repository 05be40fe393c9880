"""Notice and the contest window of a determination, judged by the real clock.

Issuing a notice is its own step and event (`determination.notice_issued`: how it was sent,
to which address, on which day); the 30-day window counts from that day. A contest within the
window opens a case and the determination waits for it. `advance` puts in effect only what
the clock (`ledger.clock.today`: real time; a test clock only on a database that is not
production) says has passed its window uncontested: no caller passes a date, so nothing goes
into effect early and `in_effect_on` is never a day that has not come.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from vitalfile.cases.determinations import DeterminationState, get_determination
from vitalfile.cases.notices import notice_text, write_notice_pdf
from vitalfile.dates import due_date, iso_now
from vitalfile.errors import NotFound, UsageError
from vitalfile.events import (
    CaseOpened,
    DeterminationContested,
    DeterminationInEffect,
    Event,
    MatchVerified,
    NoticeIssued,
)
from vitalfile.ledger.clock import today as clock_today
from vitalfile.ledger.store import Store

__all__ = [
    "CONTEST_DAYS",
    "NOTICE_METHODS",
    "advance",
    "contest",
    "issue_notice",
    "make_notice",
    "verify_match",
    "write_notice",
]

CONTEST_DAYS = 30
NOTICE_METHODS = ("mail", "email", "in_person", "portal")


def make_notice(
    st: DeterminationState, issued_on: date, *, method: str, sent_to: str, issued_by: str, at: str
) -> NoticeIssued:
    """Pure: the notice event for a determination sent on `issued_on`."""
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
        method=method,
        sent_to=sent_to,
        issued_by=issued_by,
        at=at,
    )


def issue_notice(
    store: Store,
    determination_id: str,
    *,
    method: str,
    sent_to: str,
    issued_by: str,
) -> NoticeIssued:
    """Record that the notice was sent today (the clock's day): how, to which address, by
    whom. Only a proposed determination gets one, and a computer match only once verified."""
    if method not in NOTICE_METHODS:
        raise UsageError(f"method must be one of {', '.join(NOTICE_METHODS)}", field="method")
    if not sent_to.strip():
        raise UsageError("a notice names the address it was sent to", field="sent_to")
    if not issued_by.strip():
        raise UsageError("a notice names who issued it", field="issued_by")
    with store.transaction():
        st = get_determination(store, determination_id)
        if st.state != "proposed":
            raise UsageError(
                f"the determination is {st.state}: only a proposed one gets a notice",
                record_id=st.determination_id,
            )
        if st.origin == "computer_match" and not st.verified:
            raise UsageError(
                "a computer-match result is independently verified before any notice",
                record_id=st.determination_id,
            )
        notice = make_notice(
            st,
            clock_today(store),
            method=method,
            sent_to=sent_to.strip(),
            issued_by=issued_by.strip(),
            at=iso_now(),
        )
        store.append([notice], note="notice issued")
    return notice


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


def verify_match(
    store: Store,
    determination_id: str,
    *,
    verified_by: str,
    method: str,
    evidence: Sequence[str] = (),
    now: datetime | None = None,
) -> MatchVerified:
    """Record the independent verification of a computer-match result (its notice is then
    issued as its own step, `issue_notice`)."""
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
        verified = MatchVerified(
            determination_id=determination_id,
            person_id=st.person_id,
            verified_by=verified_by,
            method=method,
            evidence=list(evidence),
            at=iso_now(when),
        )
        store.append([verified], note="match verified")
    return verified


def contest(
    store: Store,
    determination_id: str,
    *,
    ground: str,
    evidence: Sequence[str] = (),
) -> str:
    """The subject contests within the window (by the clock): the determination waits for
    a reviewer's decision on the case."""
    if not ground:
        raise UsageError("a contest states its ground", field="ground")
    with store.transaction():
        day = clock_today(store)
        when = datetime.now(UTC)
        st = get_determination(store, determination_id)
        if st.state != "notice_issued":
            raise UsageError(
                f"the determination is {st.state}: nothing to contest",
                record_id=st.determination_id,
            )
        if day.isoformat() > st.contest_by:
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
                    on=day.isoformat(),
                ),
            ],
            note="determination contested",
        )
    return case_id


def advance(store: Store) -> list[str]:
    """Put in effect every determination whose notice window has passed uncontested by the
    clock (and, for a computer match, that was independently verified). Each gets its own
    event, dated the clock's day. A contested determination waits for its case."""
    with store.transaction():
        day = clock_today(store).isoformat()
        rows = store.query(
            "SELECT determination_id, person_id FROM determinations WHERE state = 'notice_issued' "
            "AND notice_issued_on <> '' AND contest_by < ? AND (origin = 'agency' OR verified) "
            "ORDER BY determination_id",
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
