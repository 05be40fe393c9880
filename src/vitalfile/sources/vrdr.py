"""State death records in HL7 FHIR VRDR: reading documents and messages, writing them back.

This module owns the VRDR format and nothing else (no ledger, no linkage):

- `read_bundle` turns one DeathCertificateDocument bundle, or one submission, update or void
  message, into a `VrdrReport` (state record id, decedent's names, SSN, dates, sex, death
  state, certifier), keeping what strict `fhir.resources` validation finds as warnings;
- `iter_bundles` reads a .json file, a folder of them, or NDJSON, one report or
  `RecordError` (file and line, never personal data) per bundle;
- `write_document` / `write_message` make bundles from a report (synthetic data, tests);
- `acknowledgement` / `extraction_error` make the replies a receiver sends for each message.

Partial dates are read from the older `vrdr/StructureDefinition/PartialDate*` extensions and
the newer `vr-common-library` forms, and data-absent dates (`unknown`, `temp-unknown`) become
`""`; an unknown month or day becomes `00` as in the DMF layout.
"""

from __future__ import annotations

from vitalfile.sources.vrdr_common import (
    EVENT_ACKNOWLEDGEMENT,
    EVENT_EXTRACTION_ERROR,
    EVENT_SUBMISSION,
    EVENT_UPDATE,
    EVENT_VOID,
    MESSAGE_KINDS,
    MessageKind,
    VrdrReport,
    format_record_id,
)
from vitalfile.sources.vrdr_read import iter_bundles, read_bundle, validation_findings
from vitalfile.sources.vrdr_write import (
    DateStyle,
    acknowledgement,
    extraction_error,
    write_document,
    write_message,
)

__all__ = [
    "EVENT_ACKNOWLEDGEMENT",
    "EVENT_EXTRACTION_ERROR",
    "EVENT_SUBMISSION",
    "EVENT_UPDATE",
    "EVENT_VOID",
    "MESSAGE_KINDS",
    "DateStyle",
    "MessageKind",
    "VrdrReport",
    "acknowledgement",
    "extraction_error",
    "format_record_id",
    "iter_bundles",
    "read_bundle",
    "validation_findings",
    "write_document",
    "write_message",
]
