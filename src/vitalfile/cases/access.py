"""The person on the file opens their own record: a one-time access code printed on a notice
(a determination's, or a retraction's), given with their SSN.

A code is for one person, expires, is kept only as its SHA-256 (`access.code_issued`), opens
the record once (`access.code_used`), and dies after a few tries with another SSN
(`access.code_failed`). Every failure reads the same ("the code and SSN do not open a
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
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from vitalfile.cases.review import person_name
from vitalfile.dates import iso_now
from vitalfile.errors import NotFound, PolicyError, UsageError
from vitalfile.events import AccessCodeFailed, AccessCodeIssued, AccessCodeUsed
from vitalfile.ledger.store import Store

__all__ = [
    "CODE_DAYS",
    "MAX_FAILURES",
    "Attempts",
    "CodeRefused",
    "TooManyAttempts",
    "file_challenge",
    "issue_code",
    "notice_for",
    "open_with_code",
]

CODE_DAYS = 60  # a code opens the record until this many days after its notice
MAX_FAILURES = 3  # tries with another SSN before a code is void
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
    if not store.query("SELECT 1 FROM persons WHERE person_id = ?", [person_id]):
        raise NotFound("no such person")
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(12))
    code = f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"
    at = iso_now(now)
    store.append(
        [
            AccessCodeIssued(
                code_id=uuid.uuid4().hex[:12],
                person_id=person_id,
                sha256=_hash(code),
                notice=notice,
                expires=(date.fromisoformat(at[:10]) + timedelta(days=days)).isoformat(),
                at=at,
            )
        ],
        note="access code",
    )
    return code


@dataclass
class _CodeState:
    issued: AccessCodeIssued
    used: bool = False
    failures: int = 0


def _find(store: Store, sha: str) -> _CodeState | None:
    found: _CodeState | None = None
    for se in store.iter_events(
        types=[AccessCodeIssued.type, AccessCodeUsed.type, AccessCodeFailed.type]
    ):
        e = se.event
        if isinstance(e, AccessCodeIssued):
            if e.sha256 == sha:
                found = _CodeState(e)
        elif found is not None and getattr(e, "code_id", "") == found.issued.code_id:
            if isinstance(e, AccessCodeUsed):
                found.used = True
            elif isinstance(e, AccessCodeFailed):
                found.failures += 1
    return found


def open_with_code(store: Store, code: str, ssn: str, *, now: datetime | None = None) -> int:
    """The person the code and SSN open (the code is then used up); CodeRefused otherwise."""
    day = iso_now(now)[:10]
    with store.transaction():
        st = _find(store, _hash(code)) if len(_normal(code)) == 12 else None
        if st is None or st.used or st.failures >= MAX_FAILURES or st.issued.expires < day:
            raise CodeRefused(_REFUSED)
        pid = st.issued.person_id
        rows = store.query("SELECT ssn FROM persons WHERE person_id = ?", [pid])
        if not rows or not secrets.compare_digest(str(rows[0][0]), ssn):
            store.append(
                [AccessCodeFailed(code_id=st.issued.code_id, person_id=pid, at=iso_now(now))]
            )
            failed = True
        else:
            store.append(
                [AccessCodeUsed(code_id=st.issued.code_id, person_id=pid, at=iso_now(now))],
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


def notice_for(store: Store, person_id: int) -> tuple[str, str]:
    """(notice reference, text) of the person's latest notice: a determination's notice as
    issued, or else a notice that a death recorded for them was retracted."""
    from vitalfile.cases.determinations import list_determinations

    dets = [d for d in list_determinations(store, person_id=person_id) if d.notice_id]
    if dets:
        d = dets[-1]
        rows = store.query(
            "SELECT text FROM determination_notices WHERE notice_id = ?", [d.notice_id]
        )
        if rows:
            return d.notice_id, str(rows[0][0])
    from vitalfile.master.projection import status_of

    st = status_of(store, person_id)
    if st.death is not None and st.death.status == "retracted":
        name = person_name(st.person)
        text = (
            "NOTICE: A DEATH RECORDED FOR YOU WAS RETRACTED\n\n"
            f"To: {name or 'the person concerned'}\n\n"
            "Our file had listed you as deceased. A reviewer has found that you are alive,\n"
            "the death has been retracted, and every recipient that received it has been\n"
            "sent a correction.\n"
        )
        return f"retraction:{person_id}", text
    raise NotFound("this person has no notice to send")


def printed_notice(text: str, code: str, expires: str) -> str:
    """The notice with its access code (the code is never stored in the text)."""
    return (
        text.rstrip("\n")
        + "\n\nSEE WHAT THE FILE HOLDS ABOUT YOU: open /console/my-record and enter\n"
        + f"the access code {code} with your Social Security number (by {expires};\n"
        + "the code works once).\n"
    )


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
