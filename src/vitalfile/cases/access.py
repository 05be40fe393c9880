"""The person on the file opens their own record: a one-time access code printed on a notice
(a determination's, or a retraction's), given with their SSN.

`print_notice` is the one way a notice leaves with a code, whichever door prints it (the
console, `POST /v1/people/{id}/notices`, `vitalfile notice` and `determination notice`).
A code is for one person, expires, is kept only as its SHA-256 (`access.code_issued`), opens
the record once (`access.code_used`), and dies after a few tries with another SSN
(`access.code_failed`); the `access_codes` projection, keyed by the hash, finds it without
reading the events. Every failure reads the same ("the code and SSN do not open a
record"): a wrong code reveals nothing, not even that the code exists. `Attempts` limits
how fast one client may try. What a person may file (a dispute of a death, a contest of a
determination) is `file_challenge`; what their record shows is `overview.record`.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from vitalfile.cases.notices import write_notice_pdf
from vitalfile.cases.review import person_name
from vitalfile.dates import iso_now
from vitalfile.errors import NotFound, PolicyError, UsageError
from vitalfile.events import AccessCodeFailed, AccessCodeIssued, AccessCodeUsed, Event
from vitalfile.ledger.store import Store, Tx
from vitalfile.ledger.table import Table

__all__ = [
    "CODE_DAYS",
    "MAX_FAILURES",
    "PAGE",
    "AccessCodesProjection",
    "Attempts",
    "CodeRefused",
    "PrintedNotice",
    "TooManyAttempts",
    "file_challenge",
    "issue_code",
    "notice_for",
    "open_with_code",
    "print_notice",
    "write_printed_notice",
]

CODE_DAYS = 60  # a code opens the record until this many days after its notice
MAX_FAILURES = 3  # tries with another SSN before a code is void
PAGE = "/console/my-record"  # the person's page, as the service serves it
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off paper
_REFUSED = "the code and SSN do not open a record (check both; a code opens it once)"


class CodeRefused(PolicyError):
    """One message for every failure: unknown, used, expired, void, or another SSN."""

    code = "refused"


class TooManyAttempts(PolicyError):
    code = "refused"


def _normal(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def _hash(code: str) -> str:
    return hashlib.sha256(_normal(code).encode()).hexdigest()


def issue_code(
    store: Store,
    person_id: int,
    *,
    notice: str,
    days: int = CODE_DAYS,
    now: datetime | None = None,
) -> str:
    """A new code for this person, printed on `notice`; returned once, kept only hashed."""
    return _issue(store, person_id, notice=notice, days=days, now=now)[0]


def _issue(
    store: Store, person_id: int, *, notice: str, days: int, now: datetime | None
) -> tuple[str, str]:
    """(code, last day it opens the record)."""
    if not store.query("SELECT 1 FROM persons WHERE person_id = ?", [person_id]):
        raise NotFound("no such person")
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(12))
    code = f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"
    at = iso_now(now)
    expires = (date.fromisoformat(at[:10]) + timedelta(days=days)).isoformat()
    store.append(
        [
            AccessCodeIssued(
                code_id=uuid.uuid4().hex[:12],
                person_id=person_id,
                sha256=_hash(code),
                notice=notice,
                expires=expires,
                at=at,
            )
        ],
        note="access code",
    )
    return code, expires


@dataclass(frozen=True)
class _Code:
    code_id: str
    person_id: int
    expires: str
    used: bool
    failures: int


ACCESS_CODES = Table(
    "access_codes",
    "sha256 VARCHAR PRIMARY KEY",
    "code_id VARCHAR",
    "person_id BIGINT",
    "notice VARCHAR",
    "expires VARCHAR",
    "used BOOLEAN",
    "failures INTEGER",
    "seq BIGINT",
)


class AccessCodesProjection:
    """access_codes: one row per code, keyed by its SHA-256 (what a person types is hashed
    and looked up, never searched for in the events): whose, until when, used, failures."""

    name = "access_codes"

    def ddl(self) -> list[str]:
        return [
            ACCESS_CODES.ddl,
            "CREATE INDEX IF NOT EXISTS access_codes_code_id ON access_codes (code_id)",
        ]

    def tables(self) -> list[str]:
        return [ACCESS_CODES.name]

    def handles(self, event_type: str) -> bool:
        return event_type in _CODE_EVENTS

    def apply(self, tx: Tx, events: Sequence[tuple[int, Event]]) -> None:
        for seq, e in events:
            if isinstance(e, AccessCodeIssued):
                tx.execute(
                    ACCESS_CODES.insert_sql,
                    [e.sha256, e.code_id, e.person_id, e.notice, e.expires, False, 0, seq],
                )
            elif isinstance(e, AccessCodeUsed):
                tx.execute(
                    "UPDATE access_codes SET used = true, seq = ? WHERE code_id = ?",
                    [seq, e.code_id],
                )
            elif isinstance(e, AccessCodeFailed):
                tx.execute(
                    "UPDATE access_codes SET failures = failures + 1, seq = ? WHERE code_id = ?",
                    [seq, e.code_id],
                )


_CODE_EVENTS = frozenset({AccessCodeIssued.type, AccessCodeUsed.type, AccessCodeFailed.type})


def _find(store: Store, sha: str) -> _Code | None:
    rows = store.query(
        "SELECT code_id, person_id, expires, used, failures FROM access_codes WHERE sha256 = ?",
        [sha],
    )
    if not rows:
        return None
    code_id, pid, expires, used, failures = rows[0]
    return _Code(str(code_id), int(pid), str(expires), bool(used), int(failures))


def open_with_code(store: Store, code: str, ssn: str, *, now: datetime | None = None) -> int:
    """The person the code and SSN open (the code is then used up); CodeRefused otherwise."""
    day = iso_now(now)[:10]
    with store.transaction():
        st = _find(store, _hash(code)) if len(_normal(code)) == 12 else None
        if st is None or st.used or st.failures >= MAX_FAILURES or st.expires < day:
            raise CodeRefused(_REFUSED)
        pid = st.person_id
        rows = store.query("SELECT ssn FROM persons WHERE person_id = ?", [pid])
        if not rows or not secrets.compare_digest(str(rows[0][0]), ssn):
            store.append([AccessCodeFailed(code_id=st.code_id, person_id=pid, at=iso_now(now))])
            failed = True
        else:
            store.append(
                [AccessCodeUsed(code_id=st.code_id, person_id=pid, at=iso_now(now))],
                note="access code used",
            )
            failed = False
    if failed:
        raise CodeRefused(_REFUSED)
    return pid


class Attempts:
    """At most `limit` tries per client in `window` seconds (in this process)."""

    def __init__(self, limit: int = 5, window: float = 600.0) -> None:
        self.limit, self.window = limit, window
        self._lock = threading.Lock()
        self._seen: dict[str, deque[float]] = {}

    def check(self, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            q = self._seen.setdefault(client, deque())
            while q and now - q[0] > self.window:
                q.popleft()
            if len(q) >= self.limit:
                raise TooManyAttempts(
                    "too many tries from here: wait ten minutes, or call the number on your notice"
                )
            q.append(now)
            if len(self._seen) > 10_000:
                self._seen.clear()


def notice_for(
    store: Store, person_id: int, determination_id: str | None = None
) -> tuple[str, str]:
    """(notice reference, text) of a notice to the person: the named determination's notice
    as issued; without one, their latest notice — a determination's as issued, or a notice
    that a death recorded for them was retracted, whichever came last."""
    from vitalfile.master.projection import status_of

    found: list[tuple[int, str, str]] = []  # (seq, reference, text)
    if determination_id is not None:
        from vitalfile.cases.determinations import get_determination

        if get_determination(store, determination_id).person_id != person_id:
            raise NotFound("no such determination about this person", record_id=determination_id)
    rows = store.query(
        "SELECT n.seq, n.notice_id, n.text FROM determination_notices n "
        "JOIN determinations d ON d.determination_id = n.determination_id "
        "WHERE d.person_id = ? AND (? = '' OR d.determination_id = ?) "
        "ORDER BY n.seq DESC LIMIT 1",
        [person_id, determination_id or "", determination_id or ""],
    )
    found += [(int(r[0]), str(r[1]), str(r[2])) for r in rows]
    if determination_id is not None and not found:
        raise NotFound("no notice issued for this determination", record_id=determination_id)
    st = status_of(store, person_id) if determination_id is None else None
    if st is not None and st.death is not None and st.death.status == "retracted":
        name = person_name(st.person)
        text = (
            "NOTICE: A DEATH RECORDED FOR YOU WAS RETRACTED\n\n"
            f"To: {name or 'the person concerned'}\n\n"
            "Our file had listed you as deceased. A reviewer has found that you are alive,\n"
            "the death has been retracted, and every recipient that received it has been\n"
            "sent a correction.\n"
        )
        found.append((st.death.changed_seq, f"retraction:{person_id}", text))
    if not found:
        raise NotFound("this person has no notice to send")
    _, ref, text = max(found)
    return ref, text


def printed_notice(text: str, code: str, expires: str, page: str = PAGE) -> str:
    """The notice with its access code and the address of the person's page (the code is
    never stored in the text); ASCII, as any printer and the PDF's core fonts take it."""
    full = (
        text.rstrip("\n")
        + "\n\nSEE WHAT THE FILE HOLDS ABOUT YOU: open\n"
        + f"    {page}\n"
        + f"and enter the access code {code} with your Social Security number\n"
        + f"(by {expires}; the code works once).\n"
    )
    return full.encode("ascii", "replace").decode("ascii")


@dataclass(frozen=True)
class PrintedNotice:
    """A notice as it is sent: its text with a new one-time access code (shown this once)."""

    person_id: int
    notice: str  # the notice it is printed on: a notice id, or "retraction:<person id>"
    code: str
    expires: str  # the last day the code opens the record
    text: str


def print_notice(
    store: Store,
    *,
    person_id: int | None = None,
    determination_id: str | None = None,
    days: int = CODE_DAYS,
    now: datetime | None = None,
    page: str = PAGE,
) -> PrintedNotice:
    """A notice to send, with a new access code: the named determination's notice (its
    subject's), or the person's latest notice (`notice_for`). Every door that prints a
    notice for its subject calls this; the code is returned here once and kept hashed.
    `page`: the person's page as they will type it (the service's address when known)."""
    if person_id is None:
        if determination_id is None:
            raise UsageError("name the person or the determination", field="person_id")
        from vitalfile.cases.determinations import get_determination

        person_id = get_determination(store, determination_id).person_id
        if person_id is None:
            raise NotFound("the determination names no person on file", record_id=determination_id)
    with store.transaction():
        ref, text = notice_for(store, person_id, determination_id)
        code, expires = _issue(store, person_id, notice=ref, days=days, now=now)
    text = printed_notice(text, code, expires, page)
    return PrintedNotice(person_id, ref, code, expires, text)


def write_printed_notice(notice: PrintedNotice, out_dir: Path) -> tuple[Path, Path]:
    """The printed notice as text and PDF in `out_dir` (named for the notice)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = notice.notice.replace(":", "-")
    txt = out_dir / f"{stem}.txt"
    txt.write_text(notice.text, encoding="ascii")
    return txt, write_notice_pdf(notice.text, out_dir / f"{stem}.pdf")


def file_challenge(
    store: Store,
    person_id: int,
    *,
    what: str,
    ground: str,
    evidence: list[str],
    now: datetime | None = None,
) -> str:
    """The person disputes their death on file (`what` = 'death') or contests a
    determination (`what` = its id); opens the case. Returns the case id."""
    from vitalfile.cases.determinations import list_determinations
    from vitalfile.cases.framework import open_dispute
    from vitalfile.cases.window import contest

    if not ground.strip():
        raise UsageError("say what is wrong", field="ground")
    rows = store.query("SELECT ssn FROM persons WHERE person_id = ?", [person_id])
    if not rows:
        raise NotFound("no such person")
    if what == "death":
        return open_dispute(
            store,
            str(rows[0][0]),
            evidence=evidence or ["the person's own statement"],
            reason=f"the person says: {ground.strip()}",
            opened_by="subject",
            now=now,
        )
    mine = {d.determination_id for d in list_determinations(store, person_id=person_id)}
    if what not in mine:
        raise NotFound("no such determination about you")
    return contest(store, what, ground=ground.strip(), evidence=evidence)
