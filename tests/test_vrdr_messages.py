"""Every message of the FHIR Messaging for NVSS guide, on DuckDB and PostgreSQL.

Block voids, aliases, answers never answered, coding responses acknowledged, replies to the
sender's endpoint, record ids checked wherever they appear, a document with another date of
death is an amendment, the V/P fall back decided by `post` (a DMF P record upgraded by a state
record goes back to P when the state voids it), and the published examples read as they are.
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from vitalfile.errors import RecordError
from vitalfile.events import (
    DeathUpdated,
    DmfRecordLoaded,
    PersonRegistered,
    ReportAliasAdded,
    VrdrMessageRecorded,
    VrdrReplyQueued,
)
from vitalfile.intake.post import decide_withdrawal
from vitalfile.intake.vrdr import ingest_vrdr, ingest_vrdr_file
from vitalfile.ledger.store import Store
from vitalfile.master.projection import Death, PersonState, status_of
from vitalfile.sources.vrdr import (
    EVENT_ACKNOWLEDGEMENT,
    VrdrReport,
    read_bundle,
    write_document,
    write_message,
)

TODAY = date(2026, 6, 1)
PUBLISHED = Path(__file__).parent / "fixtures" / "vrdr" / "published"
STATE = "https://edrs.example.ma.gov/fhir"
PEOPLE = [
    (1, "123456789", "Adaeze", "Okafor", "1940-02-03"),
    (2, "234567890", "Bertil", "Lindqvist", "1951-07-19"),
    (3, "345678901", "Carmen", "Delgado", "1962-11-30"),
]


def record(i: int, cert: int, **changes: Any) -> VrdrReport:
    _pid, ssn, first, last, dob = PEOPLE[i]
    base = VrdrReport(
        record_id=f"2026MA{cert:06d}",
        jurisdiction="MA",
        cert_no=f"{cert:06d}",
        death_year=2026,
        first_name=first,
        last_name=last,
        ssn=ssn,
        dob=dob,
        dod="2026-01-05",
        sex="F",
        death_state="MA",
    )
    return replace(base, **changes)


def message(rec: VrdrReport, kind: str, mid: str) -> VrdrReport:
    """The message as the reader gets it (written, then read back)."""
    return read_bundle(write_message(rec, kind, message_id=mid, source=STATE))


@pytest.fixture
def people(store: Store) -> Store:
    store.append(
        [
            PersonRegistered(person_id=pid, ssn=ssn, first_name=f, last_name=last, dob=dob)
            for pid, ssn, f, last, dob in PEOPLE
        ]
    )
    return store


def take(store: Store, *msgs: VrdrReport) -> Any:
    return ingest_vrdr(store, list(msgs), today=TODAY, replies=True)


def death(store: Store, pid: int) -> tuple[str, str, str] | None:
    d = status_of(store, pid).death
    return None if d is None else (d.status, d.dod, d.proof)


def reply_of(result: Any, mid: str) -> dict[str, Any] | None:
    (outcome,) = [o for o in result.outcomes if o.message_id == mid]
    reply: dict[str, Any] | None = outcome.reply
    return reply


def header(bundle: dict[str, Any]) -> dict[str, Any]:
    h: dict[str, Any] = bundle["entry"][0]["resource"]
    return h


# ── voids ────────────────────────────────────────────────────────────────────────────────
def test_block_void_voids_every_certificate_and_says_which(people: Store) -> None:
    take(
        people,
        message(record(0, 537), "submission", "s537"),
        message(record(1, 538), "submission", "s538"),
        message(record(2, 539), "submission", "s539"),
    )
    assert [death(people, p) for p in (1, 2, 3)] == [("current", "2026-01-05", "V")] * 3
    void = message(replace(record(0, 537), block_count=4), "void", "v-block")
    assert void.block_count == 4
    result = take(people, void)
    assert (result.voided, result.deaths_retracted) == (3, 3)
    assert [death(people, p) for p in (1, 2, 3)] == [("retracted", "2026-01-05", "V")] * 3
    assert sorted(people.query("SELECT status FROM reports")) == [("voided",)] * 3
    ack = reply_of(result, "v-block")
    assert ack is not None and header(ack)["eventUri"] == EVENT_ACKNOWLEDGEMENT
    (note,) = [
        e["resource"] for e in ack["entry"] if e["resource"]["resourceType"] == "OperationOutcome"
    ]
    assert note["issue"][0]["diagnostics"] == (
        "voided 2026MA000537, 2026MA000538, 2026MA000539; "
        "not on file (nothing to void) 2026MA000540"
    )
    # resent: the same acknowledgement, nothing new
    again = take(people, void)
    assert again.commits == [] and reply_of(again, "v-block") == ack


def test_block_void_each_death_falls_back_as_a_single_void_would(people: Store) -> None:
    _, ssn, first, last, dob = PEOPLE[1]
    # person 2's death is also backed by a funeral home's report: it stays, as P
    from vitalfile.events import ReportReceived
    from vitalfile.intake.reports import ingest_reports

    ingest_reports(
        people,
        [
            ReportReceived(
                report_key="FH/1",
                source_kind="funeral_home",
                source_id="FH",
                report_id="1",
                ssn=ssn,
                first_name=first,
                last_name=last,
                dob=dob,
                dod="2026-01-05",
            )
        ],
        today=TODAY,
    )
    take(
        people,
        message(record(0, 10), "submission", "a"),
        message(record(1, 11), "submission", "b"),
    )
    assert death(people, 2) == ("current", "2026-01-05", "V")
    take(people, message(replace(record(0, 10), block_count=2), "void", "v"))
    assert death(people, 1) == ("retracted", "2026-01-05", "V")
    assert death(people, 2) == ("current", "2026-01-05", "P")


def test_block_count_out_of_range_is_refused() -> None:
    bundle = write_message(replace(record(0, 999_999), block_count=2), "void", message_id="v")
    with pytest.raises(RecordError, match="block_count") as caught:
        read_bundle(bundle)
    assert caught.value.context["record_id"] == "v"  # the message is named


# ── V/P decided once (post.py) ───────────────────────────────────────────────────────────
def test_dmf_p_record_upgraded_by_a_state_goes_back_to_p_when_the_state_voids(
    store: Store,
) -> None:
    _, ssn, first, last, dob = PEOPLE[0]
    store.append(
        [
            DmfRecordLoaded(
                person_id=1,
                ssn=ssn,
                last_name=last.upper(),
                first_name=first.upper(),
                proof="P",
                dod="2026-01-05",
                dob=dob,
            )
        ]
    )
    assert death(store, 1) == ("current", "2026-01-05", "P")
    take(store, message(record(0, 1), "submission", "s"))
    assert death(store, 1) == ("current", "2026-01-05", "V")  # the state's record upgraded it
    result = take(store, message(record(0, 1), "void", "v"))
    assert (result.voided, result.deaths_retracted, result.deaths_updated) == (1, 0, 1)
    assert death(store, 1) == ("current", "2026-01-05", "P")  # the DMF record backs it, as P


def test_decide_withdrawal_is_the_one_place_a_level_goes_down() -> None:
    person = PersonState(
        1, death=Death("2026-01-05", "V", ["dmf", "state"], ["MA/x"], 2, "current", 5)
    )
    (lowered,) = decide_withdrawal("MA/x", 1, person, {}, "voided", dmf_proof="P")
    assert isinstance(lowered, DeathUpdated) and lowered.proof == "P"
    assert decide_withdrawal("MA/x", 1, person, {}, "voided", dmf_proof="V") == []


# ── aliases, answers, coding responses, status ───────────────────────────────────────────
def test_alias_is_recorded_on_the_record_never_a_new_death(people: Store) -> None:
    take(people, message(record(0, 1), "submission", "s"))
    alias = replace(
        record(0, 1),
        alias=(
            ("alias_decedent_first_name", "Ada"),
            ("alias_social_security_number", "123-45-6780"),
        ),
    )
    result = take(people, message(alias, "alias", "al"))
    assert (result.aliases, result.received, result.acks) == (1, 0, 1)
    (ev,) = [e.event for e in people.iter_events(types=[ReportAliasAdded.type])]
    assert isinstance(ev, ReportAliasAdded)
    assert (ev.report_key, ev.first_name, ev.ssn) == ("MA/2026MA000001", "Ada", "123456780")
    assert people.query("SELECT count(*) FROM reports") == [(1,)]
    assert people.query("SELECT count(*) FROM deaths") == [(1,)]
    # an alias of a record not on file is refused with an extraction error (not "no decedent")
    stray = take(
        people, message(replace(alias, cert_no="000002", record_id="2026MA000002"), "alias", "al2")
    )
    outcome = stray.outcomes[0]
    assert outcome.result == "refused" and "not on file" in outcome.reason
    assert outcome.reply is not None and "extraction_error" in header(outcome.reply)["eventUri"]


def test_answers_are_recorded_and_matched_never_answered(people: Store) -> None:
    first = take(people, message(record(0, 1), "submission", "s"))
    our_ack = reply_of(first, "s")
    assert our_ack is not None
    ack_of_ack = replace(record(0, 1), response_to=header(our_ack)["id"], response_code="ok")
    err = replace(record(0, 1), response_to="s", response_code="fatal-error")
    result = take(
        people,
        message(ack_of_ack, "acknowledgement", "a1"),
        message(err, "extraction_error", "e1"),
    )
    assert result.answers == 2 and result.acks == 0 and result.extraction_errors == 0
    assert all(o.reply is None for o in result.outcomes)
    found = {
        e.event.message_id: e.event.answers_found
        for e in people.iter_events(types=[VrdrMessageRecorded.type])
        if isinstance(e.event, VrdrMessageRecorded)
    }
    assert found == {"a1": "reply", "e1": "message"}


@pytest.mark.parametrize(
    "kind",
    [
        "causeofdeath_coding",
        "causeofdeath_coding_update",
        "demographics_coding",
        "demographics_coding_update",
        "status",
    ],
)
def test_coding_responses_and_status_get_an_acknowledgement(people: Store, kind: str) -> None:
    take(people, message(record(0, 1), "submission", "s"))
    rec = replace(record(0, 1), status="manualCauseOfDeathCoding" if kind == "status" else "")
    result = take(people, message(rec, kind, f"c-{kind}"))
    (outcome,) = result.outcomes
    assert outcome.result == "recorded" and result.acks == 1 and result.extraction_errors == 0
    assert outcome.reply is not None
    assert header(outcome.reply)["eventUri"] == EVENT_ACKNOWLEDGEMENT
    assert header(outcome.reply)["destination"] == [{"endpoint": STATE}]
    assert death(people, 1) == ("current", "2026-01-05", "V")  # nothing else changes


def test_replies_go_to_the_senders_endpoint_and_survive_in_the_ledger(people: Store) -> None:
    result = take(people, message(record(0, 1), "submission", "s"))
    ack = reply_of(result, "s")
    assert ack is not None and header(ack)["destination"] == [{"endpoint": STATE}]
    (kept,) = [e.event for e in people.iter_events(types=[VrdrReplyQueued.type])]
    assert isinstance(kept, VrdrReplyQueued)
    assert (kept.in_reply_to, kept.kind, kept.jurisdiction, kept.bundle) == (
        "s",
        "acknowledgement",
        "MA",
        ack,
    )
    people.rebuild()
    assert people.query("SELECT in_reply_to, kind FROM vrdr_replies") == [("s", "acknowledgement")]


# ── identifiers, dates ───────────────────────────────────────────────────────────────────
@pytest.mark.parametrize(
    "where",
    ["identifier", "params", "params_year", "params_cert"],
)
def test_record_ids_are_checked_wherever_they_appear(where: str) -> None:
    bundle = write_message(record(0, 1), "submission", message_id="m")
    params = bundle["entry"][1]["resource"]["parameter"]
    doc = bundle["entry"][2]["resource"]
    if where == "identifier":
        bundle["entry"][1]["resource"]["parameter"] = []
        doc["identifier"]["value"] = "0000XX000000"
    elif where == "params":
        params[0]["valueString"] = "XX"
    elif where == "params_year":
        params[2]["valueUnsignedInt"] = 0
    else:
        params[1]["valueUnsignedInt"] = 0
    with pytest.raises(RecordError) as caught:
        read_bundle(bundle)
    assert caught.value.context["record_id"] == "m"
    plain = write_document(record(0, 1))
    plain["identifier"]["value"] = "0000XX000000"
    with pytest.raises(RecordError, match="record id"):
        read_bundle(plain)
    plain = write_document(record(0, 1))
    plain["identifier"]["extension"][0]["valueString"] = "1234567"
    with pytest.raises(RecordError, match="certificate number") as caught:
        read_bundle(plain)
    assert caught.value.field == "Bundle.identifier.certificateNumber"


def test_event_year_preferred_death_year_accepted() -> None:
    bundle = write_message(record(0, 1), "void", message_id="v")
    params = bundle["entry"][1]["resource"]["parameter"]
    assert {"name": "event_year", "valueUnsignedInt": 2026} in params
    assert read_bundle(bundle).record_id == "2026MA000001"
    for p in params:
        if p["name"] == "event_year":
            p["name"] = "death_year"
    assert read_bundle(bundle).record_id == "2026MA000001"
    params.append({"name": "event_year", "valueUnsignedInt": 2025})
    with pytest.raises(RecordError, match="differ"):
        read_bundle(bundle)


def test_a_document_with_another_date_of_death_is_an_amendment(people: Store) -> None:
    take(people, read_bundle(write_document(record(0, 1))))
    assert death(people, 1) == ("current", "2026-01-05", "V")
    result = take(people, read_bundle(write_document(record(0, 1, dod="2026-01-04"))))
    assert (result.amended, result.duplicates, result.deaths_updated) == (1, 0, 1)
    assert death(people, 1) == ("current", "2026-01-04", "V")
    same = take(people, read_bundle(write_document(record(0, 1, dod="2026-01-04"))))
    assert (same.duplicates, same.commits) == (1, [])


def test_missing_date_of_death_is_held_never_filled(people: Store) -> None:
    doc = write_document(record(0, 1, dod=""))
    obs = next(
        e["resource"] for e in doc["entry"] if e["resource"]["resourceType"] == "Observation"
    )
    obs["component"] = [
        {
            "code": {"coding": [{"system": "http://loinc.org", "code": "80616-6"}]},
            "valueDateTime": "2026-01-07T10:00:00",
        }
    ]
    result = take(people, read_bundle(doc))
    assert (result.received, result.held, result.posted_v) == (1, 1, 0)
    assert people.query("SELECT status, dod FROM reports") == [("held", "")]
    assert death(people, 1) is None


# ── the published examples ───────────────────────────────────────────────────────────────
def test_published_examples_each_read_for_what_they_are() -> None:
    kinds = {
        "submission_message_537_example.json": ("submission", "2022MA000537"),
        "submission_acknowledgement_message_537_example.json": ("acknowledgement", "2022MA000537"),
        "cause_of_death_coding_response_message_537_example.json": (
            "causeofdeath_coding",
            "2022MA000537",
        ),
        "demographics_coding_response_message_537_example.json": (
            "demographics_coding",
            "2022MA000537",
        ),
        "DeathRecordSubmissionMessage.json": ("submission", "2018NY123456"),
        "DeathRecordUpdateMessage.json": ("update", "2018NY123456"),
        "DeathRecordVoidMessage.json": ("void", "2018NY123456"),
        "DeathRecordAliasMessage.json": ("alias", "2018NH123456"),
        "StatusMessage.json": ("status", "2018NY123456"),
        "AcknowledgementMessage.json": ("acknowledgement", "2018MA000001"),
        "ExtractionErrorMessage.json": ("extraction_error", "2018MA000001"),
        "CauseOfDeathCodingUpdateMessage.json": ("causeofdeath_coding_update", "2019AK100000"),
        "DemographicsCodingUpdateMessage.json": ("demographics_coding_update", "2022YC000123"),
        "Bundle-DeathCertificateDocument-Example1.json": ("document", "2020NY000182"),
    }
    for name, (kind, rid) in kinds.items():
        r = read_bundle((PUBLISHED / name).read_bytes())
        assert (r.message_kind, r.record_id) == (kind, rid), name
    void = read_bundle((PUBLISHED / "DeathRecordVoidMessage.json").read_bytes())
    assert (void.block_count, void.source_endpoint) == (10, "https://sos.nh.gov/vitalrecords")
    ack = read_bundle(
        (PUBLISHED / "submission_acknowledgement_message_537_example.json").read_bytes()
    )
    assert ack.response_to == "9b95f7c0-c82d-465a-944d-25f4f96f4df9"


def test_published_exchange_through_the_file_door(store: Store, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in (
        "submission_message_537_example.json",
        "submission_message_538_example.json",
        "submission_acknowledgement_message_537_example.json",
        "cause_of_death_coding_response_message_537_example.json",
    ):
        (inbox / name).write_bytes((PUBLISHED / name).read_bytes())
    out = tmp_path / "outbox"
    result = ingest_vrdr_file(store, inbox, ack_dir=out, today=TODAY)
    assert (result.received, result.answers, result.rejected) == (2, 2, 0)
    written = sorted(p.name for p in out.iterdir())
    # the two submissions and the coding response are acknowledged; the acknowledgement not
    assert len(written) == 3 and all(n.endswith(".ack.json") for n in written)
    for p in out.iterdir():
        assert header(json.loads(p.read_text()))["destination"] != [
            {"endpoint": "urn:unknown-sender"}
        ]
    again = ingest_vrdr_file(store, inbox, ack_dir=tmp_path / "again", today=TODAY)
    assert again.commits == [] and again.duplicates == 4
    assert sorted(p.name for p in (tmp_path / "again").iterdir()) == written


def test_bad_input_is_one_error_naming_the_message(tmp_path: Path) -> None:
    bundle = json.loads((PUBLISHED / "DeathRecordVoidMessage.json").read_text())
    broken = copy.deepcopy(bundle)
    broken["entry"][1]["resource"]["parameter"][1]["valueString"] = "XX"
    with pytest.raises(RecordError) as caught:
        read_bundle(broken, file="v.json", line=1)
    assert str(caught.value).startswith("v.json:1 record id VoidHeader-Example1 field Parameters")
