"""The identity fields — who a record is about — named once, in the order every format keeps.

A person on file, a report, a DMF record, a determination and the linker's frames all carry
some of these; each derives its own list from here rather than writing the names again.
The event classes declare the same fields (Pydantic needs them written out); a test holds
them to these lists.
"""

from __future__ import annotations

__all__ = [
    "IDENTITY_FIELDS",
    "NAME_FIELDS",
    "PERSON_FIELDS",
    "REPORT_FIELDS",
    "REPORT_KEY_FIELDS",
]

# A name as it is read aloud: first middle last suffix.
NAME_FIELDS: tuple[str, ...] = ("first_name", "middle_name", "last_name", "suffix")
# Who someone is: SSN, names, date of birth, sex.
IDENTITY_FIELDS: tuple[str, ...] = ("ssn", *NAME_FIELDS, "dob", "sex")
# A person on file: the identity, place of birth, last known address, former surnames.
PERSON_FIELDS: tuple[str, ...] = (
    *IDENTITY_FIELDS,
    "birth_state",
    "address",
    "city",
    "state",
    "zip",
    "former_names",
)
# Who sent a report and its id at the source (the idempotency key's parts).
REPORT_KEY_FIELDS: tuple[str, ...] = ("source_kind", "source_id", "report_id")
# What a report claims (and an amendment restates): the identity as written, why its SSN is
# unusable, the date and state of death, when it was reported.
REPORT_FIELDS: tuple[str, ...] = (
    "ssn",
    "ssn_flag",
    *NAME_FIELDS,
    "dob",
    "dod",
    "sex",
    "death_state",
    "reported_at",
)
