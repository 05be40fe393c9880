"""Domain types and the ledger's events: frozen Pydantic models with a type and a version.

An event's canonical bytes are its stored JSON text (`Event.to_json`); `decode` turns stored
text back into the event class registered for its type, upcasting older versions on read.
Dates are ISO text `YYYY-MM-DD`; a partial date carries `00` for an unknown month or day.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from datetime import date
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "EVENT_TYPES",
    "SOURCE_KINDS",
    "AgreementAdded",
    "AgreementEnded",
    "DeathCorroborated",
    "DeathPosted",
    "DeathRetracted",
    "DeathUpdated",
    "DeliveryMade",
    "DisclosureMade",
    "DisclosureRefused",
    "DmfRecordLoaded",
    "Event",
    "IngestRejected",
    "LinkUndone",
    "MonitorRegistered",
    "PartialDate",
    "PersonRegistered",
    "Proof",
    "RecipientAdded",
    "ReportAmended",
    "ReportHeld",
    "ReportLinked",
    "ReportReceived",
    "ReportUnlinked",
    "ReportVoided",
    "SourceKind",
    "decode",
    "partial_date",
]

SourceKind = Literal["state", "funeral_home", "family", "financial", "federal_agency"]
SOURCE_KINDS: tuple[str, ...] = ("state", "funeral_home", "family", "financial", "federal_agency")
Proof = Literal["V", "P", ""]
PartialDate = str  # "YYYY-MM-DD", month/day may be "00"; "" when wholly unknown

_PARTIAL = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def partial_date(text: str) -> str:
    """Check a partial ISO date (`00` month or day allowed) and return it; '' stays ''."""
    if text == "":
        return ""
    if not _PARTIAL.match(text):
        raise ValueError("not a YYYY-MM-DD date")
    y, m, d = int(text[:4]), int(text[5:7]), int(text[8:10])
    if y == 0:
        raise ValueError("year 0000")
    if m == 0 and d != 0:
        raise ValueError("day given without month")
    if m > 12:
        raise ValueError("month out of range")
    if m and d:
        date(y, m, d)  # raises ValueError for 31 Feb and the like
    elif d > 31:
        raise ValueError("day out of range")
    return text


EVENT_TYPES: dict[str, type[Event]] = {}
_UPCASTERS: dict[tuple[str, int], Callable[[dict[str, Any]], dict[str, Any]]] = {}


@functools.cache
def _json_head(type_: str, version: int) -> str:
    return json.dumps({"type": type_, "v": version}, separators=(",", ":"))


class Event(BaseModel):
    """Base of every ledger event. Subclasses set `type` and `version`."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    type: ClassVar[str] = ""
    version: ClassVar[int] = 1

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.type:
            if cls.type in EVENT_TYPES:
                raise TypeError(f"event type {cls.type} registered twice")
            EVENT_TYPES[cls.type] = cls

    def to_json(self) -> str:
        """The canonical stored text: type and version first, then the fields in order."""
        head = _json_head(self.type, self.version)
        body = self.model_dump_json()
        return head[:-1] + ("," + body[1:] if body != "{}" else "}")

    def subject(self) -> int | None:
        """The person this event is about, when there is one (an index column)."""
        value = getattr(self, "person_id", None)
        return int(value) if value is not None else None


def upcaster(
    type_: str, from_version: int
) -> Callable[
    [Callable[[dict[str, Any]], dict[str, Any]]], Callable[[dict[str, Any]], dict[str, Any]]
]:
    """Register a function turning a stored `type_` body of `from_version` into the next."""

    def register(
        fn: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> Callable[[dict[str, Any]], dict[str, Any]]:
        _UPCASTERS[(type_, from_version)] = fn
        return fn

    return register


def decode(text: str) -> Event:
    """The event stored as `text`, upcast to its current version."""
    raw = json.loads(text)
    type_, version = raw.pop("type"), raw.pop("v")
    cls = EVENT_TYPES[type_]
    while version < cls.version:
        raw = _UPCASTERS[(type_, version)](raw)
        version += 1
    return cls.model_validate(raw)


class _Dated(Event):
    @field_validator("dob", "dod", check_fields=False)
    @classmethod
    def _check_partial(cls, value: str) -> str:
        return partial_date(value)


# ── people ──────────────────────────────────────────────────────────────────────────────
class PersonRegistered(_Dated):
    """A person enters the file from a people file.

    Version 2 added `former_names`: surnames the person was known by before (a maiden name,
    an earlier married name), separated by ";", "" when none. A version-1 event reads as
    one with no former names.
    """

    type = "person.registered"
    version = 2
    person_id: int
    ssn: str
    first_name: str = ""
    middle_name: str = ""
    last_name: str = ""
    suffix: str = ""
    dob: str = ""
    sex: str = ""
    birth_state: str = ""
    address: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""
    former_names: str = ""


@upcaster(PersonRegistered.type, 1)
def _person_registered_v1(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "former_names": ""}


class DmfRecordLoaded(_Dated):
    """One record of an existing DMF full file taken over: a person and their death."""

    type = "dmf.record_loaded"
    person_id: int
    ssn: str
    last_name: str = ""
    suffix: str = ""
    first_name: str = ""
    middle_name: str = ""
    proof: Proof = ""
    dod: str = ""
    dob: str = ""


# ── reports and links ──────────────────────────────────────────────────────────────────
class ReportReceived(_Dated):
    """One source's claim that someone died, exactly as received (never edited)."""

    type = "report.received"
    report_key: str  # "<source_id>/<report_id>": the idempotency key
    source_kind: SourceKind
    source_id: str
    report_id: str
    ssn: str = ""
    ssn_flag: str = ""  # why the SSN as written is unusable ("" when it looks fine)
    first_name: str = ""
    middle_name: str = ""
    last_name: str = ""
    suffix: str = ""
    dob: str = ""
    dod: str = ""
    sex: str = ""
    death_state: str = ""
    reported_at: str = ""
    extra: dict[str, Any] = Field(default_factory=dict)


class ReportLinked(Event):
    """The decision that a report is about a person."""

    type = "report.linked"
    report_key: str
    person_id: int
    decided_by: str  # "rule", "model" or "reviewer:<name>"
    model_version: str = ""
    match_probability: float = 1.0
    match_weight: float | None = None
    weights: dict[str, float] = Field(default_factory=dict)


class ReportHeld(Event):
    """A report linkage could not settle: held for a person to review."""

    type = "report.held"
    report_key: str
    reason: str
    person_id: int | None = None  # the best candidate, if any
    runner_up: int | None = None
    model_version: str = ""
    match_probability: float | None = None
    weights: dict[str, float] = Field(default_factory=dict)
    explanation: list[str] = Field(default_factory=list)


class ReportUnlinked(Event):
    """No person in the file matches the report (recorded, never lost)."""

    type = "report.unlinked"
    report_key: str
    reason: str
    model_version: str = ""


class LinkUndone(Event):
    """A reviewer undid a link; the model never makes it again for this report and person."""

    type = "link.undone"
    report_key: str
    person_id: int
    reviewer: str
    reason: str


# ── deaths ─────────────────────────────────────────────────────────────────────────────
class DeathPosted(_Dated):
    """The file now believes the person died (or a report adds to that belief)."""

    type = "death.posted"
    person_id: int
    dod: str
    proof: Proof
    report_key: str
    source_kind: SourceKind


class DeathCorroborated(Event):
    """Another report about a death already on file (adds to it; no second death)."""

    type = "death.corroborated"
    person_id: int
    report_key: str
    source_kind: SourceKind


class DeathUpdated(_Dated):
    """The date or the verification level of a death changed."""

    type = "death.updated"
    person_id: int
    dod: str
    proof: Proof
    reason: str
    report_key: str = ""


class DeathRetracted(Event):
    """A death is ended: the person is not dead after all (or not known to be)."""

    type = "death.retracted"
    person_id: int
    reason: str
    evidence: list[str] = Field(default_factory=list)
    decided_by: str = ""
    report_keys: list[str] = Field(default_factory=list)


# ── what leaves the file ───────────────────────────────────────────────────────────────
class DeliveryMade(Event):
    """A file sent out: to whom, what kind, and up to which event it reflects the file.

    The records it held are a function of the file as of `upto_seq` and the recipient's
    rules, so the delivery event needs no list of them to be replayed.
    """

    type = "delivery.made"
    delivery_id: str
    recipient: str  # "" for the keeper's own unrestricted extract
    kind: Literal["full", "update"]
    format: str
    since_seq: int
    upto_seq: int
    records: int
    adds: int = 0
    changes: int = 0
    deletes: int = 0
    sha256: str = ""
    made_at: str = ""
    # issue 5: the rules the record set was chosen by (replaying needs no list of records)
    tier: str = ""
    agreement_id: str = ""
    extract_date: str = ""


# ── ingest bookkeeping ─────────────────────────────────────────────────────────────────
class IngestRejected(Event):
    """Records of an ingested file set aside (quarantine): where and why, never values."""

    type = "ingest.rejected"
    file: str
    source_id: str
    problems: list[dict[str, Any]]


# ── state record amendments and voids (VRDR update and void messages; issue 7) ──────────
class ReportAmended(_Dated):
    """A source replaced what it said before about one of its reports (a VRDR update).

    Carries the report's fields as they now stand; the report's source and id are unchanged.
    """

    type = "report.amended"
    report_key: str
    message_id: str = ""
    ssn: str = ""
    ssn_flag: str = ""
    first_name: str = ""
    middle_name: str = ""
    last_name: str = ""
    suffix: str = ""
    dob: str = ""
    dod: str = ""
    sex: str = ""
    death_state: str = ""
    reported_at: str = ""
    extra: dict[str, Any] = Field(default_factory=dict)


class ReportVoided(Event):
    """A source withdrew one of its reports (a VRDR void message): it backs nothing any more."""

    type = "report.voided"
    report_key: str
    message_id: str = ""
    reason: str = ""


# ── recipients, agreements, disclosures, monitoring (issue 5: policy.py, verify.py) ──────
class RecipientAdded(Event):
    """A recipient of files and answers, with its tier (federal, certified, public)."""

    type = "recipient.added"
    recipient: str
    tier: Literal["federal", "certified", "public"]
    name: str = ""


class AgreementAdded(Event):
    """What one recipient may receive, for which purpose, under which authority, until when."""

    type = "agreement.added"
    agreement_id: str
    recipient: str
    purpose: str
    authority: str
    fields: list[str]
    determination_kinds: list[str] = Field(default_factory=list)
    start: str  # ISO date, inclusive
    end: str  # ISO date, inclusive


class AgreementEnded(Event):
    """An agreement ends early (its last day is `end`)."""

    type = "agreement.ended"
    agreement_id: str
    end: str
    reason: str = ""


class DisclosureMade(Event):
    """Answers given to one recipient under one agreement; `given[i]` is about `person_ids[i]`."""

    type = "disclosure.made"
    disclosure_id: str
    recipient: str
    agreement_id: str
    purpose: str
    authority: str
    channel: Literal["verify", "match", "feed", "file", "request", "determination"]
    fields: list[str]
    person_ids: list[int] = Field(default_factory=list)
    given: list[str] = Field(default_factory=list)
    at: str = ""


class DisclosureRefused(Event):
    """A request refused by the gate: nothing was disclosed (the reason holds no values)."""

    type = "disclosure.refused"
    recipient: str
    channel: str
    reason: str
    agreement_id: str = ""
    purpose: str = ""
    fields: list[str] = Field(default_factory=list)
    person_ids: list[int] = Field(default_factory=list)
    at: str = ""


class MonitorRegistered(Event):
    """A recipient's customers to watch: each a dict of customer_id, ssn, names, dob."""

    type = "monitor.registered"
    recipient: str
    list_id: str
    customers: list[dict[str, str]]


# ── cases and due process (issue 6: cases.py, activity.py, determinations.py, requests.py) ──
class CaseOpened(Event):
    """Work for a person: a review, a dispute, a determination, or a request for data."""

    type = "case.opened"
    case_id: str
    kind: Literal["review", "dispute", "determination", "disclosure_request"]
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


class CorrectionQueued(Event):
    """A retracted or changed death is owed to the recipients that received it."""

    type = "correction.queued"
    person_id: int
    case_id: str
    recipients: list[str]
    death_version: int
    change: str = "retracted"
    at: str = ""


class ActivityRecorded(Event):
    """A sign of life: earnings, a claim, an account opened, an office visit."""

    type = "activity.recorded"
    activity_key: str  # idempotency key: the same line twice records nothing new
    ssn: str
    person_id: int | None = None
    kind: Literal["earnings", "claim", "account_opened", "office_visit"]
    activity_date: str
    source: str


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
    """The subject is told of the finding and how to contest it; the window starts."""

    type = "determination.notice_issued"
    determination_id: str
    person_id: int | None = None
    notice_id: str
    issued_on: str
    contest_by: str
    text: str


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


class PersonalDataRequested(Event):
    """A request for someone's personal data (e.g. a last known address), as received."""

    type = "request.received"
    request_id: str
    agency: str
    basis: str
    case_ref: str
    ssn: str
    person_id: int | None = None
    line: int = 0
    outcome: Literal["granted", "refused", "held"]
    reason: str = ""
    at: str = ""


# ── API keys (issue 8: access.py; the HTTP API and the console) ─────────────────────────
class ApiKeyCreated(Event):
    """A key to call the service: only its SHA-256 is kept; scoped to a recipient or a role."""

    type = "apikey.created"
    key_id: str
    sha256: str
    role: str = ""  # a staff role (intake, reviewer, supervisor, auditor), or ""
    recipient: str = ""  # a recipient id, or ""
    label: str = ""  # who holds it (a reviewer's name), never a secret
    at: str = ""


class ApiKeyRevoked(Event):
    type = "apikey.revoked"
    key_id: str
    reason: str = ""
    at: str = ""
