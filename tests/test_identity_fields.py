"""The identity field list is written once (events.identity); every record type that carries
it declares the same fields in the same order, so a list derived from it never drifts."""

from __future__ import annotations

import dataclasses

from vitalfile.cases.determination_input import HEADER, DeterminationIn
from vitalfile.events import (
    IDENTITY_FIELDS,
    NAME_FIELDS,
    PERSON_FIELDS,
    REPORT_FIELDS,
    DmfRecordLoaded,
    PersonRegistered,
    ReportAmended,
    ReportReceived,
)
from vitalfile.sources.csv import PEOPLE_COLUMNS, REPORT_COLUMNS, PersonRow, ReportRow
from vitalfile.sources.dmf import DmfRecord
from vitalfile.sources.dmf_layout import LAYOUT_2011, NAME_COLUMNS, RECORD_FIELDS


def _in_order(fields: tuple[str, ...], declared: list[str]) -> list[str]:
    return [f for f in declared if f in fields]


def test_the_canonical_csv_headers_are_the_identity_lists() -> None:
    assert PEOPLE_COLUMNS == PERSON_FIELDS
    assert PEOPLE_COLUMNS[: len(IDENTITY_FIELDS)] == IDENTITY_FIELDS
    assert ",".join(REPORT_COLUMNS) == (
        "report_id,source_kind,source_id,ssn,first_name,middle_name,last_name,suffix,"
        "dob,dod,sex,death_state,reported_at"
    )


def test_record_types_declare_the_identity_fields_in_order() -> None:
    assert tuple(f.name for f in dataclasses.fields(PersonRow)) == PERSON_FIELDS
    row_fields = [f.name for f in dataclasses.fields(ReportRow)]
    assert tuple(_in_order(REPORT_FIELDS, row_fields)) == (*REPORT_COLUMNS[3:], "ssn_flag")
    person = list(PersonRegistered.model_fields)
    assert tuple(_in_order(PERSON_FIELDS, person)) == PERSON_FIELDS
    for event in (ReportReceived, ReportAmended):
        assert tuple(_in_order(REPORT_FIELDS, list(event.model_fields))) == REPORT_FIELDS


def test_the_dmf_lists_come_from_its_layout() -> None:
    assert tuple(c.name for c in LAYOUT_2011.columns[1:-1]) == RECORD_FIELDS
    assert set(NAME_COLUMNS) == set(NAME_FIELDS)
    for declared in (
        list(DmfRecordLoaded.model_fields),
        [f.name for f in dataclasses.fields(DmfRecord)],
    ):
        assert tuple(_in_order(RECORD_FIELDS, declared)) == RECORD_FIELDS


def test_a_determination_names_its_subject_by_identity_fields() -> None:
    subject = HEADER[: HEADER.index("kind")]
    assert subject == ("ssn", "first_name", "middle_name", "last_name", "dob")
    d = DeterminationIn(ssn="123456789", kind="k", authority="a", effective_date="", last_name="X")
    assert d.identity() == dict.fromkeys(subject, "") | {"ssn": "123456789", "last_name": "X"}
