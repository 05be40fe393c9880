"""What the VRDR reader and writers share: the report shape, the URLs and the message kinds.

`VrdrReport` is one state death record (a DeathCertificateDocument, or a message of the
FHIR Messaging for NVSS guide) as read: the record id and the decedent's identity fields,
with dates as partial ISO text (`00` for an unknown month or day, `""` when wholly unknown),
and what the message header says (kind, id, sender's endpoint, what it answers).
`check_record_id` is the one check of a record id's parts (year, jurisdiction, number).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

import us

from vitalfile.errors import RecordError

__all__ = [
    "ANSWER_KINDS",
    "CODING_KINDS",
    "DAR_URL",
    "DEATH_DATE_CODE",
    "DOCUMENT_PROFILE",
    "EVENT_ACKNOWLEDGEMENT",
    "EVENT_EXTRACTION_ERROR",
    "EVENT_KINDS",
    "EVENT_SUBMISSION",
    "EVENT_UPDATE",
    "EVENT_VOID",
    "JURISDICTIONS",
    "KIND_EVENTS",
    "LOINC",
    "MAX_BLOCK",
    "MESSAGE_KINDS",
    "NCHS_ID_SYSTEM",
    "NEW_PARTIAL",
    "OLD_PARTIAL",
    "PRONOUNCED_CODE",
    "RECORD_ID",
    "SSN_SYSTEM",
    "MessageKind",
    "VrdrReport",
    "check_record_id",
    "format_record_id",
]

MessageKind = Literal[
    "document",
    "submission",
    "update",
    "void",
    "alias",
    "acknowledgement",
    "extraction_error",
    "status",
    "causeofdeath_coding",
    "causeofdeath_coding_update",
    "demographics_coding",
    "demographics_coding_update",
    "industryoccupation_coding",
    "industryoccupation_coding_update",
]
MESSAGE_KINDS: tuple[str, ...] = (
    "document",
    "submission",
    "update",
    "void",
    "alias",
    "acknowledgement",
    "extraction_error",
    "status",
    "causeofdeath_coding",
    "causeofdeath_coding_update",
    "demographics_coding",
    "demographics_coding_update",
    "industryoccupation_coding",
    "industryoccupation_coding_update",
)
# NCHS's coding responses (and their updates): acknowledged, never answered with an error
CODING_KINDS = frozenset(k for k in MESSAGE_KINDS if "_coding" in k)
# replies to a message: recorded and matched to what they answer, never answered
ANSWER_KINDS = frozenset({"acknowledgement", "extraction_error"})

_NCHS = "http://nchs.cdc.gov/vrdr_"
EVENT_SUBMISSION = _NCHS + "submission"
EVENT_UPDATE = _NCHS + "submission_update"
EVENT_VOID = _NCHS + "submission_void"
EVENT_ALIAS = _NCHS + "alias"
EVENT_ACKNOWLEDGEMENT = _NCHS + "acknowledgement"
EVENT_EXTRACTION_ERROR = _NCHS + "extraction_error"
EVENT_STATUS = _NCHS + "status"
EVENT_KINDS: dict[str, str] = {
    EVENT_SUBMISSION: "submission",
    EVENT_UPDATE: "update",
    EVENT_VOID: "void",
    EVENT_ALIAS: "alias",
    EVENT_ACKNOWLEDGEMENT: "acknowledgement",
    EVENT_EXTRACTION_ERROR: "extraction_error",
    EVENT_STATUS: "status",
    **{_NCHS + k: k for k in MESSAGE_KINDS if "_coding" in k},
}
KIND_EVENTS: dict[str, str] = {kind: uri for uri, kind in EVENT_KINDS.items()}

# The VRDR jurisdiction value set: states, DC and territories, and YC (New York City).
JURISDICTIONS = frozenset({str(s.abbr) for s in us.states.STATES_AND_TERRITORIES} | {"DC", "YC"})
MAX_BLOCK = 10_000  # a void of more certificates than this at once is refused

SSN_SYSTEM = "http://hl7.org/fhir/sid/us-ssn"
NCHS_ID_SYSTEM = "http://nchs.cdc.gov/vrdr_id"
LOINC = "http://loinc.org"
DEATH_DATE_CODE = "81956-5"  # date and time of death
PRONOUNCED_CODE = "80616-6"  # date and time pronounced dead
DAR_URL = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
DOCUMENT_PROFILE = "http://hl7.org/fhir/us/vrdr/StructureDefinition/vrdr-death-certificate-document"
OLD_PARTIAL = "http://hl7.org/fhir/us/vrdr/StructureDefinition/"
NEW_PARTIAL = "http://hl7.org/fhir/us/vr-common-library/StructureDefinition/"

RECORD_ID = re.compile(r"^(\d{4})([A-Z]{2})(\d{6})$")


def format_record_id(death_year: int, jurisdiction: str, cert_no: str) -> str:
    """`YYYY` + jurisdiction + 6-digit certificate number, e.g. `2026MA000123`."""
    return f"{death_year:04d}{jurisdiction}{int(cert_no):06d}"


def check_record_id(year: int, jurisdiction: str, cert_no: int, *, where: str) -> None:
    """Refuse (`RecordError`, naming `where`) a record id part no state would write.

    The year is 1900 to next year; the jurisdiction one of `JURISDICTIONS`; the
    certificate number six digits, not all zero. `0000XX000000` fails all three.
    """
    if not 1900 <= year <= date.today().year + 1:
        raise RecordError("the record id's year is not a plausible year of death", field=where)
    if jurisdiction not in JURISDICTIONS:
        raise RecordError(
            "the record id's jurisdiction is not a VRDR jurisdiction code", field=where
        )
    if not 1 <= cert_no <= 999_999:
        raise RecordError(
            "the record id's certificate number is not 6 digits (000001-999999)", field=where
        )


@dataclass(frozen=True, slots=True)
class VrdrReport:
    """One state death record as read from a VRDR bundle (never edited afterwards)."""

    record_id: str
    jurisdiction: str
    cert_no: str
    death_year: int
    message_kind: MessageKind = "document"
    message_id: str = ""
    source_endpoint: str = ""  # the sender's MessageHeader.source.endpoint: replies go there
    response_to: str = ""  # what an answer (acknowledgement, error, coding, status) answers
    response_code: str = ""
    block_count: int = 1  # a void: certificates cert_no .. cert_no + block_count - 1
    status: str = ""  # a status message's status code
    alias: tuple[tuple[str, str], ...] = ()  # an alias message's alias_* parameters
    first_name: str = ""
    middle_name: str = ""
    last_name: str = ""
    suffix: str = ""
    aliases: tuple[str, ...] = ()
    ssn: str = ""
    ssn_flag: str = ""
    dob: str = ""
    dod: str = ""
    sex: str = ""
    death_state: str = ""
    certifier: str = ""
    warnings: tuple[str, ...] = ()
