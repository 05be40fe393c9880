"""What the VRDR reader and writers share: the report shape, the URLs and the message kinds.

`VrdrReport` is one state death record (a DeathCertificateDocument, or a submission, update
or void message) as read: the record id and the decedent's identity fields, with dates as
partial ISO text (`00` for an unknown month or day, `""` when wholly unknown).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "DAR_URL",
    "DEATH_DATE_CODE",
    "DOCUMENT_PROFILE",
    "EVENT_ACKNOWLEDGEMENT",
    "EVENT_EXTRACTION_ERROR",
    "EVENT_KINDS",
    "EVENT_SUBMISSION",
    "EVENT_UPDATE",
    "EVENT_VOID",
    "KIND_EVENTS",
    "LOINC",
    "MESSAGE_KINDS",
    "NCHS_ID_SYSTEM",
    "NEW_PARTIAL",
    "OLD_PARTIAL",
    "PRONOUNCED_CODE",
    "RECORD_ID",
    "SSN_SYSTEM",
    "MessageKind",
    "VrdrReport",
    "format_record_id",
]

MessageKind = Literal["document", "submission", "update", "void"]
MESSAGE_KINDS: tuple[str, ...] = ("document", "submission", "update", "void")

EVENT_SUBMISSION = "http://nchs.cdc.gov/vrdr_submission"
EVENT_UPDATE = "http://nchs.cdc.gov/vrdr_submission_update"
EVENT_VOID = "http://nchs.cdc.gov/vrdr_submission_void"
EVENT_ACKNOWLEDGEMENT = "http://nchs.cdc.gov/vrdr_acknowledgement"
EVENT_EXTRACTION_ERROR = "http://nchs.cdc.gov/vrdr_extraction_error"
EVENT_KINDS: dict[str, str] = {
    EVENT_SUBMISSION: "submission",
    EVENT_UPDATE: "update",
    EVENT_VOID: "void",
}
KIND_EVENTS: dict[str, str] = {kind: uri for uri, kind in EVENT_KINDS.items()}

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


@dataclass(frozen=True, slots=True)
class VrdrReport:
    """One state death record as read from a VRDR bundle (never edited afterwards)."""

    record_id: str
    jurisdiction: str
    cert_no: str
    death_year: int
    message_kind: MessageKind = "document"
    message_id: str = ""
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
