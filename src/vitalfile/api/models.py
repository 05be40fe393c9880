"""Request and response bodies, one model per use (`…Create` in, `…Public` out).

Inputs are strict (no coercion of `false` into a number) and refuse unknown keys, so a
misspelt field is an error, not silently ignored.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from vitalfile.events import partial_date

__all__ = [
    "AccountingPublic",
    "ActivityPublic",
    "ApiKeyCreate",
    "ApiKeyPublic",
    "ApiKeyTokenPublic",
    "AssignCreate",
    "CasePublic",
    "ContestCreate",
    "CorrectionPublic",
    "DecisionCreate",
    "DecisionPublic",
    "DeliveryPublic",
    "DeterminationIn",
    "DeterminationPublic",
    "DeterminationsCreate",
    "DisputeCreate",
    "ExtractCreate",
    "FeedPublic",
    "IngestPublic",
    "MatchJobPublic",
    "MePublic",
    "NoticePrintCreate",
    "NoticePrintedPublic",
    "PersonLookup",
    "RecordPublic",
    "RequestCreate",
    "RequestPublic",
    "RevocationCreate",
    "StatusPublic",
    "TimelinePublic",
    "VerificationCreate",
    "VerifyCreate",
    "VerifyPublic",
    "VrdrRepliesPublic",
]

Ssn = Annotated[str, StringConstraints(pattern=r"^\d{3}-?\d{2}-?\d{4}$")]
# checked as the library checks them: 31 February is refused here (422), not deeper down
PartialDate = Annotated[
    str, StringConstraints(pattern=r"^(\d{4}-\d{2}-\d{2})?$"), AfterValidator(partial_date)
]
IsoDate = Annotated[
    str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$"), AfterValidator(partial_date)
]
AsOf = Annotated[
    str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?Z?)?$")
]
Text = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
ShortText = Annotated[str, StringConstraints(max_length=200)]
Evidence = Annotated[list[Annotated[str, StringConstraints(max_length=500)]], Field(max_length=50)]


class _In(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ── reports ───────────────────────────────────────────────────────────────────────────
class VrdrRepliesPublic(_Out):
    """The FHIR messages answering a VRDR body: one acknowledgement per message taken in
    (resent ones included), one extraction error per refused message (quarantine only)."""

    acknowledgements: list[dict[str, Any]]
    extraction_errors: list[dict[str, Any]]
    unanswered: int  # refused bundles with no message id to answer


class IngestPublic(_Out):
    format: Literal["dmf", "csv", "vrdr"]
    received: int
    duplicates: int
    linked: int
    held: int
    unlinked: int
    posted_v: int
    posted_p: int
    corroborated: int
    upgraded: int
    rejected: int
    commits: list[int]
    amended: int = 0
    voided: int = 0
    replies: VrdrRepliesPublic | None = None


class ActivityPublic(_Out):
    recorded: int
    duplicates: int
    unmatched: int
    after_death: int
    cases_opened: list[str]


# ── verification and matching ─────────────────────────────────────────────────────────
class VerifyCreate(_In):
    ssn: Ssn
    last_name: Annotated[str, StringConstraints(min_length=1, max_length=60)]
    dob: IsoDate
    first_name: Annotated[str, StringConstraints(max_length=60)] = ""


class VerifyPublic(_Out):
    result: Literal["death", "no_death"]
    dod: str = ""
    proof: str = ""
    disclosure_id: str


class MatchJobPublic(_Out):
    job_id: str
    status: Literal["running", "done", "failed"]
    rows: int | None = None
    counts: dict[str, int] = Field(default_factory=dict)
    deaths_given: int | None = None
    result_url: str | None = None
    error: dict[str, Any] | None = None


# ── extracts, deliveries, corrections, feed ───────────────────────────────────────────
class ExtractCreate(_In):
    kind: Literal["full", "update"] = "full"
    format: Literal["dmf", "csv", "parquet"] = "dmf"


class RefusalPublic(_Out):
    """One refused request of any kind (no personal data: a count of the people it was about)."""

    seq: int
    at: str
    channel: str
    recipient: str
    agreement_id: str
    purpose: str
    fields: str
    reason: str
    people: int
    whole_file: bool


class KeeperExtractCreate(ExtractCreate):
    """The keeper's own extract names why it is made and under which authority."""

    purpose: str = Field(min_length=1, max_length=500)
    authority: str = Field(min_length=1, max_length=500)


class DeliveryPublic(_Out):
    delivery_id: str
    recipient: str
    kind: str
    format: str
    records: int
    adds: int
    changes: int
    deletes: int
    since_seq: int
    upto_seq: int
    sha256: str
    made_at: str
    file_url: str | None = None
    checkpoint: dict[str, Any] | None = None


class CorrectionPublic(_Out):
    recipient: str
    person_id: int
    ssn: str
    change: str
    held_version: int
    current_version: int


class FeedPublic(_Out):
    notices: list[dict[str, Any]]
    next_since: int
    disclosure_id: str
    checkpoint: dict[str, Any] | None = None


class MonitorPublic(_Out):
    list_id: str
    customers: int


# ── cases and disputes ────────────────────────────────────────────────────────────────
class DecisionPublic(_Out):
    seq: int
    decision: str
    reviewer: str
    reason: str
    evidence: list[str]
    at: str
    closes: bool


class CasePublic(_Out):
    case_id: str
    kind: str
    person_id: int | None
    about: str
    state: str
    owner: str
    due: str
    overdue: bool
    opened_at: str
    reason: str
    evidence: list[str]
    explanation: list[str]
    decision: str
    version: int  # send it back with a decision: a case changed since is not decided (409)
    history: list[DecisionPublic] = Field(default_factory=list)


class DecisionCreate(_In):
    case_id: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    decision: Literal[
        "link", "reject", "retract", "uphold", "note", "propose", "withdraw", "grant", "refuse"
    ]
    # the case's `version` as read: if another reviewer changed the case since, nothing is
    # recorded (409), so two reviewers deciding the same case never both succeed
    version: Annotated[int, Field(ge=0, le=2**62)]
    reason: Text
    evidence: Evidence = Field(default_factory=list)
    person_id: int | None = None
    finding: Literal["not-this-person", "erroneous"] = "not-this-person"
    # linking a report held to protect a living person (a minor, a relative's SSN, no usable
    # SSN): why it is safe to post this death; without it the link is refused (400)
    override: Annotated[str, StringConstraints(max_length=2000)] = ""


class DecisionResultPublic(_Out):
    case_id: str
    decision: str
    events: list[str]
    corrections_sent_to: list[str]
    commit_no: int | None


class AssignCreate(_In):
    case_id: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    owner: Annotated[str, StringConstraints(min_length=1, max_length=100)]


class DisputeCreate(_In):
    ssn: Ssn
    evidence: Annotated[
        list[Annotated[str, StringConstraints(min_length=1, max_length=500)]],
        Field(min_length=1, max_length=50),
    ]
    reason: Text = "the person says they are alive"


class CaseRef(_Out):
    case_id: str


# ── determinations ────────────────────────────────────────────────────────────────────
class DeterminationIn(_In):
    ssn: Ssn
    kind: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,63}$")]
    authority: ShortText = ""
    effective_date: PartialDate = ""
    evidence_ref: ShortText = ""
    first_name: Annotated[str, StringConstraints(max_length=60)] = ""
    middle_name: Annotated[str, StringConstraints(max_length=60)] = ""
    last_name: Annotated[str, StringConstraints(max_length=60)] = ""
    dob: PartialDate = ""


class DeterminationsCreate(_In):
    agency: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    origin: Literal["agency", "computer_match"] = "agency"
    batch_id: ShortText = ""
    items: Annotated[list[DeterminationIn], Field(min_length=1, max_length=1000)]


class SubmitPublic(_Out):
    submitted: int
    duplicates: int
    proposed: int
    held: int
    notices: int
    awaiting_verification: int
    holds_by_reason: dict[str, int]
    determination_ids: list[str] = Field(default_factory=list)


class DeterminationPublic(_Out):
    determination_id: str
    kind: str
    authority: str
    agency: str
    effective_date: str
    person_id: int | None
    origin: str
    state: str
    hold_reasons: list[str]
    verified: bool
    notice_id: str
    notice_issued_on: str
    contest_by: str
    contest_case: str
    in_effect_on: str
    closed_reason: str
    notice_text: str | None = None


class VerificationCreate(_In):
    method: Text
    evidence: Evidence = Field(default_factory=list)


class NoticeCreate(_In):
    """How the notice was sent and to which address (the day is today's, by the clock)."""

    method: Literal["mail", "email", "in_person", "portal"]
    sent_to: Annotated[str, StringConstraints(min_length=1, max_length=300)]


class ContestCreate(_In):
    ground: Text
    evidence: Evidence = Field(default_factory=list)


class AdvancePublic(_Out):
    in_effect: list[str]


class DeterminationAnswer(_Out):
    person_id: int
    determination_id: str
    kind: str
    authority: str
    agency: str
    effective_date: str
    in_effect_on: str


# ── requests for personal data ────────────────────────────────────────────────────────
class RequestCreate(_In):
    agency: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    ssn: Ssn
    basis: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    case_ref: ShortText = ""
    certified_by: ShortText = ""


class RequestApproval(_In):
    """A supervisor's decision on a request awaiting approval."""

    approve: bool = True
    reason: ShortText = ""


class RequestOutcomePublic(_Out):
    request_id: str
    outcome: str
    reason: str
    person_id: int | None = None
    answer: dict[str, str] = Field(default_factory=dict)
    duplicate: bool


class RequestPublic(_Out):
    request_id: str
    agency: str
    basis: str
    case_ref: str
    person_id: int | None
    outcome: str
    reason: str
    at: str


# ── people ────────────────────────────────────────────────────────────────────────────
class PersonLookup(_In):
    ssn: Ssn
    as_of: AsOf | None = None


class StatusPublic(_Out):
    person_id: int
    status: Literal["alive", "deceased"]
    date_of_death: str | None
    verification: str | None
    reports: list[str]
    sources: list[str]
    retracted: bool
    death_version: int | None
    as_of: str | None


class TimelineEvent(_Out):
    seq: int
    commit_no: int
    committed_at: str
    type: str
    event: dict[str, Any]


class TimelinePublic(_Out):
    person_id: int
    as_of: str | None
    upto_seq: int | None
    events: list[TimelineEvent]


class AccountingEntry(_Out):
    date: str
    kind: str
    channel: str
    recipient: str
    agreement_id: str
    purpose: str
    authority: str
    fields: str
    given: str
    person_id: int


class AccountingPublic(_Out):
    as_of: str | None
    entries: list[AccountingEntry]


class RecordPublic(_Out):
    as_of: str | None
    people: list[dict[str, Any]]


class NoticePrintCreate(_In):
    """Which notice to print for the person: a determination's (by id), or else their
    latest (a determination's, or a retraction's); as JSON or as the PDF to send."""

    determination_id: Annotated[str, StringConstraints(pattern=r"^DT-[0-9a-f]{16}$")] | None = None
    format: Literal["json", "pdf"] = "json"


class NoticePrintedPublic(_Out):
    """The notice with a one-time access code, returned this once (the file keeps its hash)."""

    person_id: int
    notice: str
    code: str
    expires: str
    text: str


# ── API keys ──────────────────────────────────────────────────────────────────────────
class ApiKeyCreate(_In):
    """A key for exactly one staff role or one recipient."""

    role: Literal["intake", "reviewer", "supervisor", "auditor", "metrics"] | None = None
    recipient: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    label: Annotated[str, StringConstraints(max_length=100)] = ""
    # when the key stops working: a number of days ("90d"), a date (through that day, UTC)
    # or an ISO time; none: never
    expires: Annotated[str, StringConstraints(max_length=40)] = ""

    @model_validator(mode="after")
    def _one_scope(self) -> ApiKeyCreate:
        if (self.role is None) == (self.recipient is None):
            raise ValueError("a key is for exactly one staff role or one recipient")
        return self


class ApiKeyPublic(_Out):
    key_id: str
    role: str
    recipient: str
    label: str
    revoked: bool
    expires: str = ""  # ISO UTC time the key stops working, "" for never


class ApiKeyTokenPublic(ApiKeyPublic):
    token: str  # shown here once; the file keeps only its SHA-256


class RevocationCreate(_In):
    reason: ShortText = ""


class MePublic(_Out):
    key_id: str
    role: str
    recipient: str
    label: str
    tier: str | None
