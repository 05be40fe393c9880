"""Events of the VRDR messages stream: aliases, answers received, and replies sent to states.

A reply (acknowledgement or extraction error) is a disclosure to the state that sent the
message, so it is kept in the ledger whole: what was sent, to whom, in answer to what.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from vitalfile.events.base import Event

__all__ = ["ReportAliasAdded", "VrdrMessageRecorded", "VrdrReplyQueued"]


class ReportAliasAdded(Event):
    """An alias message: other names (or SSN) the state's record is also known by.

    Recorded on the record; it never makes a report or a death of its own."""

    type = "report.alias_added"
    report_key: str
    message_id: str
    first_name: str = ""
    middle_name: str = ""
    last_name: str = ""
    suffix: str = ""
    father_surname: str = ""
    ssn: str = ""


class VrdrMessageRecorded(Event):
    """A message that answers or informs (acknowledgement, extraction error, coding
    response, status): recorded and matched to what it answers, never acted on as a death."""

    type = "vrdr.message_recorded"
    message_id: str
    kind: str
    source_id: str
    record_id: str = ""
    report_key: str = ""  # the record on file it is about, when there is one
    answers: str = ""  # MessageHeader.response.identifier
    answers_found: Literal["reply", "message", ""] = ""  # a reply we sent, a message we took
    code: str = ""
    status: str = ""


class VrdrReplyQueued(Event):
    """One reply to a state's message, queued for the state (and written to an outbox)."""

    type = "vrdr.reply_queued"
    reply_id: str
    in_reply_to: str
    kind: Literal["acknowledgement", "extraction_error"]
    jurisdiction: str  # whose queue the reply is in ("" when not known)
    destination: str
    record_id: str = ""
    cert_no: str = ""
    death_year: int = 0
    bundle: dict[str, Any] = Field(default_factory=dict)
    at: str = ""
