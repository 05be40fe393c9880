"""State death records in VRDR through the whole ingest path, on the DuckDB store.

Submissions post verified deaths, updates move the death's date or person, voids retract a
death backed only by the voided record, resending changes nothing, replies are written only
after the append, refusals name file and line and never personal data, and a rebuild of the
projections equals the incremental tables.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vitalfile.cli import main
from vitalfile.db import open_store
from vitalfile.errors import FileRejected
from vitalfile.events import (
    DeathRetracted,
    PersonRegistered,
    ReportReceived,
    ReportVoided,
)
from vitalfile.intake.reports import detect_format, ingest_file, ingest_reports, read_report_file
from vitalfile.intake.vrdr import (
    VrdrIngestResult,
    decide_void,
    ingest_vrdr,
    ingest_vrdr_file,
    read_vrdr,
)
from vitalfile.ledger.store import Store
from vitalfile.master.projection import PersonState, ReportState, status_of
from vitalfile.sources.vrdr import (
    EVENT_ACKNOWLEDGEMENT,
    EVENT_EXTRACTION_ERROR,
    VrdrReport,
    write_document,
    write_message,
)
from vitalfile.synth import make_people, make_reports
from vitalfile.synth.vrdr import write_vrdr

TODAY = date(2026, 6, 1)
PEOPLE = [
    # person_id, ssn, first, last, dob
    (1, "123456789", "Adaeze", "Okafor", "1940-02-03"),
    (2, "234567890", "Bertil", "Lindqvist", "1951-07-19"),
    (3, "345678901", "Carmen", "Delgado", "1962-11-30"),
]
PERSONAL = ("Adaeze", "Okafor", "123456789", "Bertil", "Lindqvist", "234567890", "Delgado")


def person_record(i: int, cert: int, **changes: Any) -> VrdrReport:
    _pid, ssn, first, last, dob = PEOPLE[i]
    base = VrdrReport(
        record_id=f"2026MA{cert:06d}",
        jurisdiction="MA",
        cert_no=f"{cert:06d}",
        death_year=2026,
        first_name=first,
        middle_name="Ngozi",
        last_name=last,
        aliases=("Ada Okafor",),
        ssn=ssn,
        dob=dob,
        dod="2026-01-05",
        sex="F",
        death_state="MA",
        certifier="Jane Certifier",
    )
    return replace(base, **changes)


def msg(report: VrdrReport, kind: str, mid: str) -> dict[str, Any]:
    return write_message(report, kind, message_id=mid, timestamp="2026-01-10T10:00:00+00:00")


def ndjson(path: Path, bundles: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(b) + "\n" for b in bundles), encoding="utf-8")
    return path


def register(store: Store) -> None:
    store.append(
        [
            PersonRegistered(person_id=pid, ssn=ssn, first_name=f, last_name=last, dob=dob)
            for pid, ssn, f, last, dob in PEOPLE
        ]
    )


@pytest.fixture
def people(store: Store) -> Iterator[Store]:
    register(store)
    yield store


def ingest(store: Store, path: Path, **kw: Any) -> VrdrIngestResult:
    kw.setdefault("today", TODAY)
    result = ingest_file(store, path, source_kind="state", source_id="", **kw)
    assert isinstance(result, VrdrIngestResult)
    return result


def death(store: Store, pid: int) -> tuple[str, str, str] | None:
    d = status_of(store, pid).death
    return None if d is None else (d.status, d.dod, d.proof)


def tables(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    return {
        t: sorted(store.query(f"SELECT * FROM {t}"), key=repr)
        for t in ("persons", "deaths", "reports", "vrdr_messages")
    }


# ── the whole path ───────────────────────────────────────────────────────────────────────
def test_submissions_post_verified_deaths_with_extra(people: Store, tmp_path: Path) -> None:
    path = ndjson(
        tmp_path / "ma.ndjson",
        [
            msg(person_record(0, 1), "submission", "m-1"),
            msg(person_record(1, 2), "submission", "m-2"),
        ],
    )
    assert detect_format(path) == "vrdr"
    result = ingest(people, path)
    assert (result.received, result.linked, result.posted_v, result.bundles) == (2, 2, 2, 2)
    assert death(people, 1) == ("current", "2026-01-05", "V")
    assert death(people, 2) == ("current", "2026-01-05", "V")
    received = [e.event for e in people.iter_events(types=[ReportReceived.type])]
    first = received[0]
    assert isinstance(first, ReportReceived)
    assert first.report_key == "MA/2026MA000001"  # source id defaults to the jurisdiction
    assert (first.source_kind, first.source_id, first.report_id) == ("state", "MA", "2026MA000001")
    assert first.extra["certifier"] == "Jane Certifier"
    assert first.extra["aliases"] == ["Ada Okafor"]
    assert first.extra["message_id"] == "m-1"
    assert first.extra["message_kind"] == "submission"
    assert isinstance(first.extra.get("warnings", []), list)


def test_source_id_option_makes_the_key(people: Store, tmp_path: Path) -> None:
    path = ndjson(tmp_path / "x.ndjson", [msg(person_record(0, 1), "submission", "m-1")])
    ingest_file(people, path, source_kind="state", source_id="XX", today=TODAY)
    assert people.query("SELECT report_key, source_id FROM reports") == [("XX/2026MA000001", "XX")]


def test_folder_of_documents_and_messages(people: Store, tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps(write_document(person_record(0, 1))))
    (folder / "b.json").write_text(json.dumps(msg(person_record(1, 2), "submission", "m-2")))
    assert detect_format(folder) == "vrdr"
    result = ingest(people, folder)
    assert result.received == 2 and result.posted_v == 2
    # a document resent is a duplicate by record id
    again = ingest(people, folder)
    assert (again.received, again.duplicates, again.commits) == (0, 2, [])


def test_unknown_date_of_death_is_kept_and_held(people: Store, tmp_path: Path) -> None:
    path = ndjson(tmp_path / "a.ndjson", [msg(person_record(0, 1, dod=""), "submission", "m")])
    result = ingest(people, path)
    assert (result.received, result.held, result.posted_v) == (1, 1, 0)
    assert people.query("SELECT status, dod FROM reports") == [("held", "")]
    assert death(people, 1) is None


def test_never_issued_ssn_is_kept_and_flagged(people: Store, tmp_path: Path) -> None:
    path = ndjson(
        tmp_path / "a.ndjson", [msg(person_record(0, 1, ssn="666123456"), "submission", "m")]
    )
    result = ingest(people, path)
    assert result.received == 1 and result.posted_v == 0
    ((status, ssn, flag),) = people.query("SELECT status, ssn, ssn_flag FROM reports")
    assert (status, ssn) == ("held", "666123456") and flag


# ── updates ──────────────────────────────────────────────────────────────────────────────
def test_update_changes_the_death_date(people: Store, tmp_path: Path) -> None:
    rec = person_record(0, 1)
    ingest(people, ndjson(tmp_path / "a.ndjson", [msg(rec, "submission", "s1")]))
    result = ingest(
        people, ndjson(tmp_path / "b.ndjson", [msg(replace(rec, dod="2026-01-04"), "update", "u1")])
    )
    assert (result.amended, result.deaths_updated, result.received) == (1, 1, 0)
    assert death(people, 1) == ("current", "2026-01-04", "V")
    assert people.query("SELECT dod, status, person_id FROM reports") == [
        ("2026-01-04", "linked", 1)
    ]
    # resending the first update after a second one changes nothing
    ingest(
        people, ndjson(tmp_path / "c.ndjson", [msg(replace(rec, dod="2026-01-03"), "update", "u2")])
    )
    again = ingest(people, tmp_path / "b.ndjson")
    assert (again.duplicates, again.amended, again.commits) == (1, 0, [])
    assert death(people, 1) == ("current", "2026-01-03", "V")


def test_update_to_another_person_moves_the_death(people: Store, tmp_path: Path) -> None:
    rec = person_record(0, 1)
    ingest(people, ndjson(tmp_path / "a.ndjson", [msg(rec, "submission", "s1")]))
    _, ssn, first, last, dob = PEOPLE[2]
    moved = replace(rec, ssn=ssn, first_name=first, last_name=last, dob=dob)
    result = ingest(people, ndjson(tmp_path / "b.ndjson", [msg(moved, "update", "u1")]))
    assert (result.amended, result.deaths_retracted, result.posted_v) == (1, 1, 1)
    assert death(people, 1) == ("retracted", "2026-01-05", "V")
    assert death(people, 3) == ("current", "2026-01-05", "V")


def test_submission_and_update_in_one_file(people: Store, tmp_path: Path) -> None:
    rec = person_record(0, 1)
    path = ndjson(
        tmp_path / "a.ndjson",
        [msg(rec, "submission", "s1"), msg(replace(rec, dod="2026-01-02"), "update", "u1")],
    )
    result = ingest(people, path)
    assert (result.received, result.amended, result.posted_v) == (1, 1, 1)
    assert death(people, 1) == ("current", "2026-01-02", "V")


def test_update_of_unknown_record_is_received(people: Store, tmp_path: Path) -> None:
    result = ingest(
        people, ndjson(tmp_path / "a.ndjson", [msg(person_record(0, 1), "update", "u1")])
    )
    assert (result.received, result.amended, result.posted_v) == (1, 0, 1)


# ── voids ────────────────────────────────────────────────────────────────────────────────
def test_void_retracts_a_death_backed_only_by_it(people: Store, tmp_path: Path) -> None:
    rec = person_record(0, 1)
    ingest(people, ndjson(tmp_path / "a.ndjson", [msg(rec, "submission", "s1")]))
    result = ingest(people, ndjson(tmp_path / "v.ndjson", [msg(rec, "void", "v1")]))
    assert (result.voided, result.deaths_retracted) == (1, 1)
    assert death(people, 1) == ("retracted", "2026-01-05", "V")
    assert people.query("SELECT status FROM reports") == [("voided",)]
    (retracted,) = [e.event for e in people.iter_events(types=[DeathRetracted.type])]
    assert isinstance(retracted, DeathRetracted)
    assert retracted.reason == "the state voided its death record"
    assert retracted.report_keys == ["MA/2026MA000001"]
    # the void resent, and a second void of the same record, change nothing
    assert ingest(people, tmp_path / "v.ndjson").commits == []
    other = ingest(people, ndjson(tmp_path / "w.ndjson", [msg(rec, "void", "v2")]))
    assert (other.voided, other.duplicates, other.commits) == (0, 1, [])


def test_void_keeps_a_death_backed_by_other_reports(people: Store, tmp_path: Path) -> None:
    _, ssn, first, last, dob = PEOPLE[0]
    family = ReportReceived(
        report_key="FAM/1",
        source_kind="family",
        source_id="FAM",
        report_id="1",
        ssn=ssn,
        first_name=first,
        last_name=last,
        dob=dob,
        dod="2026-01-06",
    )
    ingest_reports(people, [family], today=TODAY)
    assert death(people, 1) == ("current", "2026-01-06", "P")
    rec = person_record(0, 1)
    ingest(people, ndjson(tmp_path / "a.ndjson", [msg(rec, "submission", "s1")]))
    assert death(people, 1) == ("current", "2026-01-05", "V")  # the certificate's date wins
    result = ingest(people, ndjson(tmp_path / "v.ndjson", [msg(rec, "void", "v1")]))
    assert (result.voided, result.deaths_retracted, result.deaths_updated) == (1, 0, 1)
    # still dead (the family's report backs it), but no longer verified
    assert death(people, 1) == ("current", "2026-01-05", "P")


def test_void_of_an_unknown_record_is_answered_and_changes_nothing(
    people: Store, tmp_path: Path
) -> None:
    out = tmp_path / "outbox"
    result = ingest(
        people, ndjson(tmp_path / "v.ndjson", [msg(person_record(0, 9), "void", "v9")]), ack_dir=out
    )
    assert (result.void_unknown, result.acks, len(result.commits)) == (1, 1, 1)
    assert people.query("SELECT count(*) FROM reports") == [(0,)]  # only the reply is kept
    ack = json.loads((out / "v9.ack.json").read_text())
    notes = [
        e["resource"] for e in ack["entry"] if e["resource"]["resourceType"] == "OperationOutcome"
    ]
    assert notes[0]["issue"][0]["diagnostics"] == "not on file (nothing to void) 2026MA000009"


def test_decide_void_is_pure() -> None:
    report = ReportState("MA/1", {"source_kind": "state"}, 1, "linked", person_id=7)
    person = PersonState(7)
    events = decide_void(report, "v1", person, {})
    assert [type(e) for e in events] == [ReportVoided]  # no death on file: nothing to retract
    assert report.status == "linked"  # the state given is not touched


# ── idempotency, atomicity, replies ──────────────────────────────────────────────────────
def test_resending_the_same_messages_changes_nothing(people: Store, tmp_path: Path) -> None:
    rec = person_record(0, 1)
    path = ndjson(
        tmp_path / "a.ndjson",
        [
            msg(rec, "submission", "s1"),
            msg(person_record(1, 2), "submission", "s2"),
            msg(replace(rec, dod="2026-01-02"), "update", "u1"),
            msg(person_record(1, 2), "void", "v1"),
        ],
    )
    first = ingest(people, path)
    assert (first.received, first.amended, first.voided) == (2, 1, 1)
    head = people.head()
    before = tables(people)
    again = ingest(people, path)
    assert (again.received, again.amended, again.voided, again.duplicates) == (0, 0, 0, 4)
    assert again.commits == [] and people.head() == head
    assert tables(people) == before
    # the same submission under a new message id, unchanged: a duplicate by record id
    same = ingest(
        people,
        ndjson(tmp_path / "b.ndjson", [msg(replace(rec, dod="2026-01-02"), "submission", "s9")]),
    )
    assert (same.duplicates, same.commits) == (1, [])


def test_acks_are_written_after_the_append(people: Store, tmp_path: Path) -> None:
    out = tmp_path / "outbox"
    rec = person_record(0, 1)
    path = ndjson(
        tmp_path / "a.ndjson",
        [msg(rec, "submission", "s1"), msg(replace(rec, dod="2026-01-02"), "update", "u1")],
    )
    result = ingest(people, path, ack_dir=out)
    assert result.acks == 2
    files = sorted(p.name for p in out.iterdir())
    assert files == ["s1.ack.json", "u1.ack.json"]
    ack = json.loads((out / "s1.ack.json").read_text())
    header = ack["entry"][0]["resource"]
    assert header["eventUri"] == EVENT_ACKNOWLEDGEMENT
    assert header["response"]["identifier"] == "s1"
    # a failed append writes nothing
    failing = tmp_path / "outbox2"

    class Boom(Exception):
        pass

    def explode(*args: Any, **kw: Any) -> Any:
        raise Boom

    other = ndjson(tmp_path / "b.ndjson", [msg(person_record(1, 2), "submission", "s2")])
    original = people.append
    people.append = explode  # type: ignore[method-assign]
    try:
        with pytest.raises(Boom):
            ingest(people, other, ack_dir=failing)
    finally:
        people.append = original  # type: ignore[method-assign]
    assert not failing.exists() or not any(failing.iterdir())


def test_refused_bundle_gets_an_extraction_error(people: Store, tmp_path: Path) -> None:
    good = msg(person_record(0, 1), "submission", "s1")
    bad = msg(person_record(1, 2), "submission", "s-bad")
    bad["entry"] = [
        e
        for e in bad["entry"]
        if e["resource"]["resourceType"] != "Bundle"  # the document with the decedent
    ]
    path = ndjson(tmp_path / "a.ndjson", [good, bad, {"resourceType": "Patient"}])
    # refused whole by default: nothing taken in, each problem named by file and line; with
    # an outbox every message still gets its one reply (the good one: its file was refused)
    with pytest.raises(FileRejected) as info:
        ingest(people, path, ack_dir=tmp_path / "whole")
    where = [(p.context["file"], p.line) for p in info.value.problems]
    assert where == [("a.ndjson", 2), ("a.ndjson", 3)]
    assert sorted(p.name for p in (tmp_path / "whole").iterdir()) == [
        "s-bad.error.json",
        "s1.error.json",
    ]
    assert "refused whole" in (tmp_path / "whole" / "s1.error.json").read_text()
    assert people.query("SELECT count(*) FROM reports") == [(0,)]
    assert people.query("SELECT count(*) FROM vrdr_replies") == [(2,)]
    # with quarantine: the good one is taken in, the refused message is answered
    out = tmp_path / "outbox"
    result = ingest(people, path, quarantine=True, ack_dir=out)
    assert (result.received, result.rejected, result.acks) == (1, 2, 1)
    assert (result.extraction_errors, result.unanswered) == (1, 1)  # a bare Patient has no id
    reply = json.loads((out / "s-bad.error.json").read_text())
    header = reply["entry"][0]["resource"]
    assert header["eventUri"] == EVENT_EXTRACTION_ERROR
    assert header["response"]["identifier"] == "s-bad"
    outcome = next(
        e["resource"] for e in reply["entry"] if e["resource"]["resourceType"] == "OperationOutcome"
    )
    assert "decedent" in outcome["issue"][0]["diagnostics"]
    text = (out / "s-bad.error.json").read_text()
    assert not any(p in text for p in PERSONAL)
    rejects = (tmp_path / "a.ndjson.rejects.csv").read_text()
    assert rejects.splitlines()[0] == "file,line,field,reason"
    assert not any(p in rejects for p in PERSONAL)


def test_errors_carry_no_personal_data(tmp_path: Path) -> None:
    bad = msg(person_record(0, 1), "submission", "s1")
    bad["entry"] = [e for e in bad["entry"] if e["resource"]["resourceType"] != "Bundle"]
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "one.json").write_text(json.dumps(bad))
    (folder / "two.json").write_text("{ not json " + PERSONAL[0])
    _, errors = read_vrdr(folder)
    assert [(e.context["file"], e.line) for e in errors] == [
        ("inbox/one.json", 1),
        ("inbox/two.json", 1),
    ]
    for e in errors:
        assert not any(p in str(e) for p in PERSONAL)
        assert not any(p in json.dumps(e.to_dict()) for p in PERSONAL)


def test_cli_ingest_with_ack_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "vf.duckdb"
    with open_store(str(db)) as s:
        register(s)
    path = ndjson(tmp_path / "a.ndjson", [msg(person_record(0, 1), "submission", "s1")])
    out = tmp_path / "outbox"
    code = main(["--db", str(db), "ingest", str(path), "--ack-dir", str(out), "--json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["received"] == 1
    assert [p.name for p in out.iterdir()] == ["s1.ack.json"]
    bad = ndjson(tmp_path / "b.ndjson", [{"resourceType": "Bundle", "type": "message"}])
    assert main(["--db", str(db), "ingest", str(bad)]) != 0
    err = capsys.readouterr().err
    assert "b.ndjson:1" in err


def test_read_report_file_takes_documents_and_refuses_updates(tmp_path: Path) -> None:
    rec = person_record(0, 1)
    path = ndjson(tmp_path / "a.ndjson", [msg(rec, "submission", "s1"), msg(rec, "update", "u1")])
    reports, errors = read_report_file(path, source_kind="state", source_id="MA")
    assert [r.report_key for r in reports] == ["MA/2026MA000001"]
    assert len(errors) == 1 and "update" in errors[0].message


# ── projections ──────────────────────────────────────────────────────────────────────────
def test_rebuild_equals_incremental(people: Store, tmp_path: Path) -> None:
    rec0, rec1, rec2 = person_record(0, 1), person_record(1, 2), person_record(2, 3)
    ingest(
        people,
        ndjson(
            tmp_path / "a.ndjson",
            [
                msg(rec0, "submission", "s0"),
                msg(rec1, "submission", "s1"),
                msg(rec2, "submission", "s2"),
                msg(replace(rec0, dod="2026-01-01"), "update", "u0"),
            ],
        ),
    )
    _, ssn, first, last, dob = PEOPLE[0]
    moved = replace(rec2, ssn=ssn, first_name=first, last_name=last, dob=dob)
    ingest(
        people,
        ndjson(
            tmp_path / "b.ndjson",
            [msg(rec1, "void", "v1"), msg(moved, "update", "u2")],
        ),
    )
    before = tables(people)
    assert before["vrdr_messages"] and any(r[7] == "retracted" for r in before["deaths"])
    people.rebuild()
    assert tables(people) == before


# ── synthetic VRDR, and the round trip through the ingest path ──────────────────────────
def test_synth_vrdr_runs_the_whole_path(store: Store, tmp_path: Path) -> None:
    population = make_people(30_000, 5)
    reports, _ = make_reports(population, 1, 5, start="2026-01-01")
    counts = write_vrdr(reports, tmp_path, seed=5)
    assert counts["vrdr_submissions"] >= 10 and counts["vrdr_updates"] >= 1
    assert counts["vrdr_voids"] >= 1 and counts["vrdr_skipped"] == 0
    folder = write_vrdr(reports, tmp_path / "f", seed=5, layout="folder")
    assert folder["vrdr_bundles"] == counts["vrdr_bundles"]
    store.append(
        [
            PersonRegistered(
                person_id=i, **{k: row[k] for k in ("ssn", "first_name", "last_name", "dob")}
            )
            for i, row in enumerate(population.to_pylist())
        ]
    )
    result = ingest(store, Path(counts["vrdr_path"]), ack_dir=tmp_path / "outbox")
    assert result.received == counts["vrdr_submissions"]
    assert result.amended == counts["vrdr_updates"] and result.voided == counts["vrdr_voids"]
    assert result.acks == counts["vrdr_bundles"]
    assert result.posted_v > 0.8 * result.received
    # the folder layout holds the same messages: all taken in already
    again = ingest_vrdr_file(store, tmp_path / "f" / "vrdr", today=TODAY)
    assert again.duplicates == counts["vrdr_bundles"] and again.commits == []


_name = st.text(alphabet=st.characters(categories=("Lu", "Ll")), min_size=1, max_size=12)
_day = st.dates(min_value=date(1900, 1, 1), max_value=date(2025, 12, 31))


@st.composite
def records(draw: st.DrawFn) -> VrdrReport:
    cert = draw(st.integers(1, 999_999))
    dod = draw(_day)
    partial = draw(st.sampled_from(["full", "day", "none"]))
    dod_text = {"full": dod.isoformat(), "day": dod.isoformat()[:8] + "00", "none": ""}[partial]
    year = dod.year
    return VrdrReport(
        record_id=f"{year:04d}NY{cert:06d}",
        jurisdiction="NY",
        cert_no=f"{cert:06d}",
        death_year=year,
        first_name=draw(_name),
        middle_name=draw(st.one_of(st.just(""), _name)),
        last_name=draw(_name),
        suffix=draw(st.sampled_from(["", "JR", "III"])),
        aliases=tuple(draw(st.lists(_name.map(lambda n: f"{n} Alias"), max_size=2, unique=True))),
        ssn=draw(st.from_regex(r"^[1-5][0-9]{2}[1-9][0-9][1-9][0-9]{3}$", fullmatch=True)),
        dob=draw(st.one_of(st.just(""), _day.map(date.isoformat))),
        dod=dod_text,
        sex=draw(st.sampled_from(["M", "F", "U", ""])),
        death_state="NY",
        certifier=draw(_name.map(lambda n: f"Dr {n}")),
    )


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rec=records(), kind=st.sampled_from(["submission", "document"]))
def test_round_trip_through_ingest(rec: VrdrReport, kind: str, tmp_path: Path) -> None:
    bundle = write_document(rec) if kind == "document" else msg(rec, "submission", "m1")
    path = tmp_path / "one.json"
    path.write_text(json.dumps(bundle))
    with open_store(":memory:") as s:
        result = ingest_vrdr(s, read_vrdr(path)[0], today=TODAY)
        assert result.received == 1
        (stored,) = [e.event for e in s.iter_events(types=[ReportReceived.type])]
    assert isinstance(stored, ReportReceived)
    assert stored.report_key == f"NY/{rec.record_id}"
    for f in ("first_name", "middle_name", "last_name", "suffix", "ssn", "dob", "dod", "sex"):
        assert getattr(stored, f) == getattr(rec, f), f
    assert stored.death_state == "NY"
    assert stored.extra["certifier"] == rec.certifier
    assert stored.extra.get("aliases", []) == list(rec.aliases)
