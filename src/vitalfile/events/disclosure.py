"""Events of what leaves the file: recipients, agreements, deliveries, disclosures, keys."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from vitalfile.events.base import Event, upcaster

__all__ = [
    "AgreementAdded",
    "AgreementEnded",
    "ApiKeyCreated",
    "ApiKeyRevoked",
    "CorrectionQueued",
    "DeliveryMade",
    "DisclosureMade",
    "DisclosureRefused",
    "MonitorRegistered",
    "PersonalDataRequested",
    "RecipientAdded",
    "RequestApproved",
    "RequestPersonNamed",
]


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
    # issue 14: 'corrections' when the recipient's agreement ended or narrowed (C/D lines for
    # what it holds, nothing new); the purpose and authority of the keeper's own extract
    scope: Literal["all", "corrections"] = "all"
    purpose: str = ""
    authority: str = ""


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
    # issue 14: a request agreement (an agency asking for personal data, e.g. an address):
    # the bases it permits, the form of its case references (a regular expression), and
    # the official who certifies each request
    kind: Literal["disclosure", "request"] = "disclosure"
    bases: list[str] = Field(default_factory=list)
    case_ref_pattern: str = ""
    certifying_official: str = ""


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
    # issue 14: a refused file is about everyone whose death was on file then
    whole_file: bool = False


class MonitorRegistered(Event):
    """A recipient's customers to watch: each a dict of customer_id, ssn, names, dob."""

    type = "monitor.registered"
    recipient: str
    list_id: str
    customers: list[dict[str, str]]


class CorrectionQueued(Event):
    """A retracted or changed death is owed to the recipients that received it."""

    type = "correction.queued"
    person_id: int
    case_id: str
    recipients: list[str]
    death_version: int
    change: str = "retracted"
    at: str = ""


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
    # issue 14: a request the rules allow awaits a supervisor's approval (`request.approved`)
    outcome: Literal["granted", "refused", "held", "awaiting_approval"]
    reason: str = ""
    at: str = ""
    certified_by: str = ""
    agreement_id: str = ""


class RequestPersonNamed(Event):
    """A held request (several people share the SSN): the reviewer names the one person it is
    about; it then awaits a supervisor's approval."""

    type = "request.person_named"
    request_id: str
    person_id: int
    reviewer: str
    at: str = ""


class RequestApproved(Event):
    """A supervisor's decision on a request the rules allow: approved (the data is given,
    for the named person) or declined. Nothing about a person leaves without it."""

    type = "request.approved"
    request_id: str
    approved: bool
    supervisor: str
    person_id: int | None = None
    reason: str = ""
    at: str = ""


# ── API keys (issue 8: access.py; the HTTP API and the console) ─────────────────────────
class ApiKeyCreated(Event):
    """A key to call the service: only its SHA-256 is kept; scoped to a recipient or a role.

    Version 2 added `expires`: when the key stops working (ISO UTC time), "" for never. A
    version-1 event reads as a key that does not expire.
    """

    type = "apikey.created"
    version = 2
    key_id: str
    sha256: str
    role: str = ""  # a staff role (intake, reviewer, supervisor, auditor, metrics), or ""
    recipient: str = ""  # a recipient id, or ""
    label: str = ""  # who holds it (a reviewer's name), never a secret
    at: str = ""
    expires: str = ""


@upcaster(ApiKeyCreated.type, 1)
def _apikey_created_v1(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "expires": ""}


class ApiKeyRevoked(Event):
    type = "apikey.revoked"
    key_id: str
    reason: str = ""
    at: str = ""
