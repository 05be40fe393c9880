"""Events of due process: cases, decisions, determinations, notices and contests."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from vitalfile.events.base import Event

__all__ = [
    "AccessCodeFailed",
    "AccessCodeIssued",
    "AccessCodeUsed",
    "CaseAssigned",
    "CaseDecided",
    "CaseOpened",
    "DeterminationContestRejected",
    "DeterminationContested",
    "DeterminationHeld",
    "DeterminationInEffect",
    "DeterminationProposed",
    "DeterminationSubmitted",
    "DeterminationWithdrawn",
    "LedgerMarkedProduction",
    "MatchVerified",
    "NoticeIssued",
]


# ── cases and due process (issue 6: cases.py, activity.py, determinations.py, requests.py) ──
class CaseOpened(Event):
    """Work for a person: a review, a dispute, a determination, a request for data, or the
    research a state's certificate for no one on file needs."""

    type = "case.opened"
    case_id: str
    kind: Literal["review", "dispute", "determination", "disclosure_request", "research"]
    person_id: int | None = None
    about: str = ""  # what the case is about: a report key, a determination id, a request id
    reason: str = ""
    owner: str = ""
    due: str = ""  # ISO date
    evidence: list[str] = Field(default_factory=list)
    explanation: list[str] = Field(default_factory=list)
    opened_by: str = ""
    at: str = ""


class CaseAssigned(Event):
    """A case gets (or changes) its owner."""

    type = "case.assigned"
    case_id: str
    owner: str
    at: str = ""


class CaseDecided(Event):
    """A decision on a case, with who made it, why, and on what evidence."""

    type = "case.decided"
    case_id: str
    decision: str
    reviewer: str
    reason: str
    evidence: list[str] = Field(default_factory=list)
    closes: bool = True
    at: str = ""


class DeterminationSubmitted(Event):
    """A finding about a living person, as another agency submitted it (never a death)."""

    type = "determination.submitted"
    determination_id: str
    kind: str
    authority: str
    agency: str
    effective_date: str
    evidence_ref: str = ""
    identity: dict[str, str] = Field(default_factory=dict)  # the subject as supplied
    person_id: int | None = None
    match_probability: float | None = None
    origin: Literal["agency", "computer_match"] = "agency"
    batch_id: str = ""
    at: str = ""


class DeterminationHeld(Event):
    """A determination held for review, never proposed: a minor, a weak match, no authority."""

    type = "determination.held"
    determination_id: str
    reasons: list[str]
    person_id: int | None = None


class DeterminationProposed(Event):
    type = "determination.proposed"
    determination_id: str
    person_id: int | None = None
    decided_by: str = "rule"


class MatchVerified(Event):
    """A computer-match result independently verified by the keeper (before any action)."""

    type = "determination.match_verified"
    determination_id: str
    person_id: int | None = None
    verified_by: str
    method: str
    evidence: list[str] = Field(default_factory=list)
    at: str = ""


class NoticeIssued(Event):
    """The subject is told of the finding and how to contest it; the window starts on
    `issued_on` (the day it was sent, by the real clock). Issuing is its own step: how it was
    sent (`method`) and to which address (`sent_to`) are recorded (older notices: blank)."""

    type = "determination.notice_issued"
    determination_id: str
    person_id: int | None = None
    notice_id: str
    issued_on: str
    contest_by: str
    text: str
    method: str = ""
    sent_to: str = ""
    issued_by: str = ""
    at: str = ""


class LedgerMarkedProduction(Event):
    """This database is production: the test clock is refused on it (ledger.clock)."""

    type = "ledger.production"
    by: str = ""
    at: str = ""


class DeterminationContested(Event):
    type = "determination.contested"
    determination_id: str
    person_id: int | None = None
    case_id: str
    ground: str
    on: str


class DeterminationContestRejected(Event):
    type = "determination.contest_rejected"
    determination_id: str
    person_id: int | None = None
    case_id: str
    reason: str


class DeterminationInEffect(Event):
    type = "determination.in_effect"
    determination_id: str
    person_id: int | None = None
    on: str


class DeterminationWithdrawn(Event):
    type = "determination.withdrawn"
    determination_id: str
    person_id: int | None = None
    reason: str
    decided_by: str


# ── the person's own page (issue 18: cases/access.py) ─────────────────────────────────
class AccessCodeIssued(Event):
    """A one-time code printed on a notice: with their SSN, the person opens their record.
    Only the code's SHA-256 is kept."""

    type = "access.code_issued"
    code_id: str
    person_id: int
    sha256: str
    notice: str  # the notice it is printed on: a notice id, or "retraction:<case id>"
    expires: str  # ISO day: the last day it opens the record
    at: str = ""


class AccessCodeUsed(Event):
    """The code opened the person's record (it opens nothing again)."""

    type = "access.code_used"
    code_id: str
    person_id: int
    at: str = ""


class AccessCodeFailed(Event):
    """The code was given with another SSN: counted; a few of these and the code is void."""

    type = "access.code_failed"
    code_id: str
    person_id: int
    at: str = ""
