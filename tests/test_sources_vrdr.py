"""VRDR reading and writing: documents, messages, partial dates, refusals, round trips."""

from __future__ import annotations

import contextlib
import copy
import json
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vitalfile.errors import RecordError, UsageError
from vitalfile.events import partial_date
from vitalfile.sources.vrdr import (
    EVENT_ACKNOWLEDGEMENT,
    EVENT_EXTRACTION_ERROR,
    EVENT_UPDATE,
    VrdrReport,
    acknowledgement,
    extraction_error,
    format_record_id,
    iter_bundles,
    read_bundle,
    validation_findings,
    write_document,
    write_message,
)
from vitalfile.ssn import never_issued_reason

FIXTURES = Path(__file__).parent / "fixtures" / "vrdr"
DAR = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
PERSONAL = ("Okafor", "Adaeze", "Ngozi", "531762209", "531-76-2209", "Delgado", "Tremblay")


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def resources(bundle: dict[str, Any], rtype: str) -> list[dict[str, Any]]:
    found = []
    for entry in bundle["entry"]:
        res = entry["resource"]
        if res["resourceType"] == rtype:
            found.append(res)
        if res["resourceType"] == "Bundle":
            found.extend(resources(res, rtype))
    return found


def strict_bundle_errors(bundle: dict[str, Any]) -> list[str]:
    return validation_findings(bundle)


# ── documents ──────────────────────────────────────────────────────────────────────────────
def test_document_newer_forms() -> None:
    r = read_bundle(json.dumps(load("document_new.json")))
    assert (r.record_id, r.jurisdiction, r.cert_no, r.death_year) == (
        "2025YC000417",
        "YC",
        "000417",
        2025,
    )
    assert (r.message_kind, r.message_id) == ("document", "")
    assert (r.first_name, r.middle_name, r.last_name, r.suffix) == (
        "Adaeze",
        "Ngozi Grace",
        "Okafor",
        "Sr.",
    )
    assert r.aliases == ("Eze", "Ada Okafor")
    assert (r.ssn, r.ssn_flag) == ("531762209", "")
    assert r.dob == ""  # _birthDate data-absent temp-unknown
    assert r.dod == "2025-03-00"  # vr-common-library PartialDateTime, day missing
    assert (r.sex, r.death_state, r.certifier) == ("F", "NY", "Rosa Delgado")


def test_document_older_forms_and_composed_record_id() -> None:
    r = read_bundle(load("document_old.json"))
    # identifier holds only the certificate number: year from the death date, jurisdiction
    # from the death location's jurisdiction extension
    assert r.record_id == "2024MA000417"
    assert r.dob == "1950-07-00"  # vrdr PartialDate, day data-absent
    assert r.dod == "2024-12-00"  # vrdr PartialDateTime, day data-absent
    assert r.suffix == "Jr. II"
    assert r.death_state == "MA"  # "Massachusetts" written out
    assert r.certifier == "1888888881"  # certifier by profile, no name: its identifier


def test_strictly_invalid_bundle_still_extracts_with_warnings() -> None:
    r = read_bundle(load("document_old.json"))
    assert r.last_name == "Lindqvist"
    assert r.warnings
    assert any(w.startswith("Observation: ") for w in r.warnings)
    assert any(w.startswith("Patient: ") for w in r.warnings)
    new = read_bundle(load("document_new.json"))  # a date-time without a zone
    assert any("valueDateTime" in w for w in new.warnings)
    for w in (*r.warnings, *new.warnings):
        assert not any(p in w for p in (*PERSONAL, "Lindqvist", "900123456"))


def test_plain_partial_date_and_full_date_time() -> None:
    doc = load("document_new.json")
    patient = resources(doc, "Patient")[0]
    del patient["_birthDate"]
    patient["birthDate"] = "1944-09"
    obs = resources(doc, "Observation")[0]
    del obs["_valueDateTime"]
    obs["valueDateTime"] = "2025-03-18T23:59:00-04:00"
    r = read_bundle(doc)
    assert (r.dob, r.dod) == ("1944-09-00", "2025-03-18")


@pytest.mark.parametrize("reason", ["unknown", "temp-unknown"])
def test_data_absent_death_date_kept_unknown(reason: str) -> None:
    doc = load("document_new.json")
    obs = resources(doc, "Observation")[0]
    obs["_valueDateTime"] = {"extension": [{"url": DAR, "valueCode": reason}]}
    del obs["component"]
    r = read_bundle(doc)
    assert r.dod == ""
    assert r.record_id == "2025YC000417"  # kept, to be held for review


def test_date_pronounced_dead_is_never_the_date_of_death() -> None:
    doc = load("document_new.json")
    obs = resources(doc, "Observation")[0]
    obs["_valueDateTime"] = {"extension": [{"url": DAR, "valueCode": "unknown"}]}
    obs.pop("valueDateTime", None)
    r = read_bundle(doc)
    assert r.dod == ""  # held downstream, never filled from another date
    assert "read: no date of death (the date pronounced dead is not used for it)" in r.warnings


def test_old_partial_with_short_part_urls() -> None:
    doc = load("document_new.json")
    obs = resources(doc, "Observation")[0]
    obs["_valueDateTime"] = {
        "extension": [
            {
                "url": "http://hl7.org/fhir/us/vr-common-library/StructureDefinition/"
                "Extension-partial-date-time-vr",
                "extension": [
                    {"url": "year", "valueUnsignedInt": 2025},
                    {"url": "month", "valueUnsignedInt": 2},
                    {"url": "day", "valueUnsignedInt": 30},  # impossible: day dropped
                ],
            }
        ]
    }
    r = read_bundle(doc)
    assert r.dod == "2025-02-00"
    assert any("not a valid date" in w for w in r.warnings)


def test_death_date_period() -> None:
    doc = load("document_new.json")
    obs = resources(doc, "Observation")[0]
    del obs["_valueDateTime"]
    obs["valuePeriod"] = {"start": "2025-03-10", "end": "2025-03-14"}
    assert read_bundle(doc).dod == "2025-03-00"


def test_never_issued_ssn_is_kept_and_flagged() -> None:
    r = read_bundle(load("document_old.json"))
    assert r.ssn == "900123456"
    assert r.ssn_flag == "area 900-999 is never issued"
    doc = load("document_new.json")
    resources(doc, "Patient")[0]["identifier"][1]["value"] = "666-12-3456"
    r = read_bundle(doc)
    assert (r.ssn, r.ssn_flag) == ("666123456", "area 666 is never issued")


def test_malformed_ssn_is_dropped_and_flagged() -> None:
    doc = load("document_new.json")
    resources(doc, "Patient")[0]["identifier"][1]["value"] = "53176220"
    r = read_bundle(doc)
    assert (r.ssn, r.ssn_flag) == ("", "not a 9-digit SSN")


# ── messages ───────────────────────────────────────────────────────────────────────────────
def test_submission_message() -> None:
    r = read_bundle(load("submission.json"))
    assert r.message_kind == "submission"
    assert r.message_id == "5a1d1b7e-0000-4000-8000-0000000000a1"
    assert r.record_id == "2025NH000005"
    assert (r.first_name, r.last_name, r.ssn) == ("Marcel", "Tremblay", "219537706")
    assert (r.dob, r.dod, r.death_state) == ("1931-11-02", "2025-06-01", "NH")
    assert r.warnings == ()


def test_update_message() -> None:
    msg = load("submission.json")
    resources(msg, "MessageHeader")[0]["eventUri"] = EVENT_UPDATE
    r = read_bundle(msg)
    assert (r.message_kind, r.record_id, r.last_name) == ("update", "2025NH000005", "Tremblay")


def test_parameters_win_over_document_identifier() -> None:
    msg = load("submission.json")
    resources(msg, "Bundle")[0]["identifier"]["value"] = "2025NH000999"
    r = read_bundle(msg)
    assert r.record_id == "2025NH000005"
    assert "read: the Parameters record id differs from the document identifier" in r.warnings


def test_void_message_old_form_with_nchs_id() -> None:
    r = read_bundle(load("void.json"))
    assert (r.message_kind, r.message_id) == ("void", "5a1d1b7e-0000-4000-8000-0000000000c1")
    assert (r.record_id, r.jurisdiction, r.cert_no, r.death_year) == (
        "2025NH000005",
        "NH",
        "000005",
        2025,
    )
    assert (r.first_name, r.last_name, r.ssn, r.dod) == ("", "", "", "")


def test_void_message_written() -> None:
    report = read_bundle(load("submission.json"))
    r = read_bundle(write_message(report, "void", message_id="void-0001"))
    assert (r.message_kind, r.message_id, r.record_id) == ("void", "void-0001", "2025NH000005")
    assert r.last_name == ""


# ── refusals ───────────────────────────────────────────────────────────────────────────────
def test_refuses_not_json() -> None:
    with pytest.raises(RecordError, match="not JSON"):
        read_bundle('{"resourceType": "Bundle", "Okafor', file="in.json", line=3)


@pytest.mark.parametrize("data", ['["Bundle"]', '{"resourceType": "Patient"}', "42"])
def test_refuses_not_a_bundle(data: str) -> None:
    with pytest.raises(RecordError, match="not a FHIR Bundle"):
        read_bundle(data)


def test_refuses_no_decedent() -> None:
    doc = load("document_new.json")
    doc["entry"] = [e for e in doc["entry"] if e["resource"]["resourceType"] != "Patient"]
    with pytest.raises(RecordError, match="no decedent"):
        read_bundle(doc)


def test_refuses_a_message_that_is_no_death_record() -> None:
    birth = load("submission.json")
    birth["entry"][0]["resource"]["eventUri"] = "http://nchs.cdc.gov/birth_submission"
    with pytest.raises(RecordError, match="not a death record message") as caught:
        read_bundle(birth)
    assert caught.value.field == "MessageHeader.eventUri"
    assert caught.value.context["record_id"] == "5a1d1b7e-0000-4000-8000-0000000000a1"


def test_refuses_no_record_id() -> None:
    doc = load("document_new.json")
    del doc["identifier"]
    with pytest.raises(RecordError, match="no state record id") as caught:
        read_bundle(doc, file="x.json", line=7)
    assert caught.value.context["file"] == "x.json"
    assert caught.value.line == 7
    assert caught.value.field == "record_id"


def test_refusals_carry_no_personal_data() -> None:
    doc = load("document_new.json")
    no_id = copy.deepcopy(doc)
    del no_id["identifier"]
    no_patient = copy.deepcopy(doc)
    no_patient["entry"] = [e for e in doc["entry"] if e["resource"]["resourceType"] != "Patient"]
    cases: list[str | dict[str, Any]] = [
        json.dumps(doc)[:-40],  # truncated: not JSON
        {"resourceType": "Patient", "name": [{"family": "Okafor"}]},
        no_id,
        no_patient,
    ]
    for case in cases:
        with pytest.raises(RecordError) as caught:
            read_bundle(case, file="batch.ndjson", line=1)
        shown = str(caught.value) + json.dumps(caught.value.to_dict())
        assert not any(p in shown for p in PERSONAL), shown


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda kids: (
            st.lists(kids, max_size=4)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "resourceType",
                        "entry",
                        "resource",
                        "type",
                        "name",
                        "given",
                        "identifier",
                        "valueDateTime",
                        "_valueDateTime",
                        "extension",
                        "url",
                        "code",
                        "coding",
                        "parameter",
                        "birthDate",
                        "_birthDate",
                        "address",
                        "state",
                        "reference",
                    ]
                ),
                kids,
                max_size=5,
            )
        ),
        max_leaves=20,
    )
)
def test_garbage_is_refused_or_read_never_crashes(junk: Any) -> None:
    for candidate in (junk, {"resourceType": "Bundle", "type": "document", "entry": junk}):
        with contextlib.suppress(RecordError):
            read_bundle(json.dumps(candidate))


def test_mutated_fixture_never_crashes() -> None:
    doc = load("document_new.json")
    for entry in doc["entry"]:
        res = entry["resource"]
        for key in list(res):
            if key in ("resourceType", "id"):
                continue
            broken = copy.deepcopy(doc)
            target = next(
                e["resource"] for e in broken["entry"] if e["resource"]["id"] == res["id"]
            )
            junks: list[Any] = [None, 7, "x", [], {}, [None]]
            for junk in junks:
                target[key] = junk
                with contextlib.suppress(RecordError):
                    read_bundle(broken)


# ── files ──────────────────────────────────────────────────────────────────────────────────
def test_iter_bundles_file_folder_and_ndjson(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "b.json").write_text(json.dumps(load("submission.json"), indent=2))
    (folder / "a.json").write_text(json.dumps(load("document_new.json")))
    (folder / "notes.txt").write_text("ignored")
    got = list(iter_bundles(folder))
    assert [g.record_id for g in got if isinstance(g, VrdrReport)] == [
        "2025YC000417",
        "2025NH000005",
    ]

    lines = [
        json.dumps(load("document_old.json")),
        "",
        '{"resourceType": "Bundle", "type": "document"}',
        "not json at all",
        json.dumps(load("void.json")),
    ]
    nd = tmp_path / "batch.ndjson"
    nd.write_text("\n".join(lines) + "\n")
    out = list(iter_bundles(nd))
    assert isinstance(out[0], VrdrReport) and out[0].record_id == "2024MA000417"
    assert isinstance(out[1], RecordError) and out[1].line == 3
    assert "no decedent" in out[1].message
    assert isinstance(out[2], RecordError) and out[2].line == 4
    assert str(out[2]).startswith(f"{nd}:4: not JSON")
    assert isinstance(out[3], VrdrReport) and out[3].message_kind == "void"

    single = list(iter_bundles(folder / "a.json"))
    assert len(single) == 1 and isinstance(single[0], VrdrReport)
    (tmp_path / "nd.json").write_text("\n".join([lines[0], lines[4]]))
    assert [type(x) for x in iter_bundles(tmp_path / "nd.json")] == [VrdrReport, VrdrReport]
    with pytest.raises(UsageError):
        list(iter_bundles(tmp_path / "missing"))


# ── writers and replies ────────────────────────────────────────────────────────────────────
def test_acknowledgement_identifies_the_original_message() -> None:
    msg = load("submission.json")
    ack = acknowledgement(msg, timestamp="2025-06-03T12:00:01+00:00")
    header = resources(ack, "MessageHeader")[0]
    assert header["eventUri"] == EVENT_ACKNOWLEDGEMENT
    assert header["response"] == {
        "identifier": "5a1d1b7e-0000-4000-8000-0000000000a1",
        "code": "ok",
    }
    assert header["destination"] == [{"endpoint": "https://edrs.example.nh.gov"}]
    names = {p["name"] for p in resources(ack, "Parameters")[0]["parameter"]}
    assert {"jurisdiction_id", "cert_no", "death_year", "state_auxiliary_id"} <= names
    assert ack == acknowledgement(msg, timestamp="2025-06-03T12:00:01+00:00")  # idempotent
    assert strict_bundle_errors(ack) == []
    from_report = acknowledgement(read_bundle(msg))
    assert (
        resources(from_report, "MessageHeader")[0]["response"]["identifier"]
        == header["response"]["identifier"]
    )
    with pytest.raises(RecordError):
        acknowledgement(read_bundle(load("document_new.json")))


def test_extraction_error_names_the_problem() -> None:
    err = extraction_error("5a1d1b7e-0000-4000-8000-0000000000a1", "no state record id")
    header = resources(err, "MessageHeader")[0]
    assert header["eventUri"] == EVENT_EXTRACTION_ERROR
    assert header["response"]["identifier"] == "5a1d1b7e-0000-4000-8000-0000000000a1"
    assert header["response"]["code"] == "fatal-error"
    outcome = resources(err, "OperationOutcome")[0]
    assert outcome["issue"][0]["diagnostics"] == "no state record id"
    assert strict_bundle_errors(err) == []
    from_msg = extraction_error(load("void.json"), "not readable")
    assert resources(from_msg, "Parameters")


def test_written_bundles_validate_strictly() -> None:
    report = read_bundle(load("document_new.json"))
    report = replace(report, dob="1950-02-00", dod="2025-03-00")
    assert strict_bundle_errors(write_document(report, date_style="plain")) == []
    assert strict_bundle_errors(write_document(report, date_style="new")) == []
    for kind in ("submission", "update", "void"):
        assert strict_bundle_errors(write_message(report, kind)) == []


# ── round trip ─────────────────────────────────────────────────────────────────────────────
_word = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdeéñ'-", min_size=1, max_size=12)
_words = st.lists(_word, max_size=3).map(" ".join)


@st.composite
def partial_dates(draw: st.DrawFn, lo: int, hi: int) -> str:
    if draw(st.integers(0, 9)) == 0:
        return ""
    y = draw(st.integers(lo, hi))
    m = draw(st.integers(0, 12))
    d = draw(st.integers(0, 28)) if m else 0
    return partial_date(f"{y:04d}-{m:02d}-{d:02d}")


@st.composite
def reports(draw: st.DrawFn) -> VrdrReport:
    year = draw(st.integers(1900, date.today().year + 1))
    jurisdiction = draw(st.sampled_from(["MA", "NY", "YC", "TX", "PR", "GU", "DC"]))
    cert_no = f"{draw(st.integers(1, 999999)):06d}"
    first = draw(st.one_of(st.just(""), _word))
    middle = draw(_words) if first else ""
    ssn = draw(st.one_of(st.just(""), st.from_regex(r"\A[0-9]{9}\Z")))
    aliases = draw(st.lists(st.lists(_word, min_size=1, max_size=3).map(" ".join), max_size=3))
    return VrdrReport(
        record_id=format_record_id(year, jurisdiction, cert_no),
        jurisdiction=jurisdiction,
        cert_no=cert_no,
        death_year=year,
        message_kind="document",
        first_name=first,
        middle_name=middle,
        last_name=draw(st.one_of(st.just(""), _word)),
        suffix=draw(st.sampled_from(["", "Jr", "Sr.", "III", "Jr. II"])),
        aliases=tuple(dict.fromkeys(aliases)),
        ssn=ssn,
        ssn_flag=(never_issued_reason(ssn) or "") if ssn else "",
        dob=draw(partial_dates(1880, 2020)),
        dod=draw(partial_dates(1990, 2100)),
        sex=draw(st.sampled_from(["", "M", "F", "U"])),
        death_state=draw(st.sampled_from(["", "MA", "NY", "TX", "PR"])),
        certifier=draw(st.one_of(st.just(""), _words, st.from_regex(r"\A[0-9]{10}\Z"))),
    )


@settings(max_examples=200, deadline=None)
@given(
    reports(),
    st.sampled_from(["document", "submission", "update", "void"]),
    st.sampled_from(["plain", "new", "old"]),
)
def test_round_trip_writer_to_reader(report: VrdrReport, kind: str, style: Any) -> None:
    if kind == "document":
        bundle = write_document(report, date_style=style)
        expected = report
    else:
        bundle = write_message(report, kind, message_id="m-1", date_style=style)
        expected = replace(
            report,
            message_kind=kind,  # type: ignore[arg-type]
            message_id="m-1",
            source_endpoint="http://example.org/edrs",
        )
        if kind == "void":
            expected = VrdrReport(
                record_id=report.record_id,
                jurisdiction=report.jurisdiction,
                cert_no=report.cert_no,
                death_year=report.death_year,
                message_kind="void",
                message_id="m-1",
                source_endpoint="http://example.org/edrs",
            )
    got = read_bundle(json.dumps(bundle))
    assert replace(got, warnings=()) == expected
    if style != "old":
        assert got.warnings == ()


@st.composite
def messages(draw: st.DrawFn) -> VrdrReport:
    """A message of any kind the guide defines that carries only Parameters."""
    year = draw(st.integers(1900, date.today().year + 1))
    jurisdiction = draw(st.sampled_from(["MA", "NY", "YC", "PR", "GU", "DC", "AS"]))
    cert = draw(st.integers(1, 999_999))
    kind = draw(
        st.sampled_from(
            [
                "void",
                "alias",
                "status",
                "acknowledgement",
                "extraction_error",
                "demographics_coding",
            ]
        )
    )
    fields: dict[str, Any] = {}
    if kind == "void":
        fields["block_count"] = draw(st.integers(1, min(10_000, 1_000_000 - cert)))
    elif kind == "alias":
        names = ["alias_decedent_first_name", "alias_decedent_last_name", "alias_father_surname"]
        chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
        fields["alias"] = tuple((n, draw(_word)) for n in chosen)
    elif kind == "status":
        fields["status"] = draw(st.sampled_from(["manualCauseOfDeathCoding", "nonCodeable"]))
    if kind in ("acknowledgement", "extraction_error") or draw(st.booleans()):
        fields["response_to"] = draw(st.uuids()).hex
        fields["response_code"] = "ok" if kind != "extraction_error" else "fatal-error"
    return VrdrReport(
        record_id=format_record_id(year, jurisdiction, f"{cert:06d}"),
        jurisdiction=jurisdiction,
        cert_no=f"{cert:06d}",
        death_year=year,
        message_kind=kind,  # type: ignore[arg-type]
        message_id="m-1",
        source_endpoint="http://example.org/edrs",
        **fields,
    )


@settings(max_examples=100, deadline=None)
@given(messages())
def test_round_trip_every_parameters_message(report: VrdrReport) -> None:
    got = read_bundle(json.dumps(write_message(report)))
    assert replace(got, warnings=()) == report
