"""Events of the reports stream: reports received, linked, held, amended, voided."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from vitalfile.events.base import Event, SourceKind, _Dated

__all__ = [
    "IngestRejected",
    "LinkUndone",
    "ReportAmended",
    "ReportHeld",
    "ReportLinked",
    "ReportReceived",
    "ReportUnlinked",
    "ReportVoided",
]


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
