"""Ingest of death reports: posting rules, idempotency, refusal, quarantine, kept bad SSNs."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from vitalfile.db import open_store
from vitalfile.errors import FileRejected
from vitalfile.intake.people import load_people_file
from vitalfile.intake.reports import IngestResult, ingest_file
from vitalfile.ledger.store import Store
from vitalfile.master.projection import status_of
from vitalfile.sources.csv import PersonRow, ReportRow, write_people, write_reports

TODAY = date(2026, 11, 24)
FIRST = {"DOE": "ANN", "ROE": "BOB", "POE": "CY"}  # the people's first names, by surname


def _people(path: Path) -> Path:
    write_people(
        [
            PersonRow(ssn="123456789", first_name="ANN", last_name="DOE", dob="1940-03-04"),
            PersonRow(ssn="223456789", first_name="BOB", last_name="ROE", dob="1950-05-06"),
            PersonRow(ssn="323456789", first_name="CY", last_name="POE", dob="1960-07-08"),
        ],
        path,
    )
    return path


def _report(
    rid: str, kind: str, ssn: str, last: str, dob: str, dod: str = "2026-10-01", source: str = "S"
) -> ReportRow:
    return ReportRow(
        report_id=rid,
        source_kind=kind,
        source_id=source,
        ssn=ssn,
        first_name=FIRST.get(last, ""),
        middle_name="",
        last_name=last,
        suffix="",
        dob=dob,
        dod=dod,
        sex="",
        death_state="TX",
        reported_at="2026-10-05T00:00:00",
    )


@pytest.fixture
def loaded(store: Store, tmp_path: Path) -> Store:
    load_people_file(store, _people(tmp_path / "people.csv"))
    return store


def _ingest(store: Store, path: Path, **kw: Any) -> IngestResult:
    return ingest_file(store, path, source_kind="state", source_id="S", today=TODAY, **kw)


def test_state_report_posts_verified_death_others_post_proof(loaded: Store, tmp_path: Path) -> None:
    f = tmp_path / "r.csv"
    write_reports(
        [
            _report("1", "state", "123456789", "DOE", "1940-03-04", source="TX"),
            _report("2", "family", "223456789", "ROE", "1950-05-06", source="FAM"),
        ],
        f,
    )
    r = _ingest(loaded, f)
    assert (r.received, r.linked, r.posted_v, r.posted_p) == (2, 2, 1, 1)
    ann, bob = status_of(loaded, 1), status_of(loaded, 2)
    assert ann.death is not None and ann.death.proof == "V" and ann.death.sources == ["state"]
    assert bob.death is not None and bob.death.proof == "P"


def test_a_second_report_adds_to_the_death_and_state_upgrades_it(
    loaded: Store, tmp_path: Path
) -> None:
    f1, f2 = tmp_path / "a.csv", tmp_path / "b.csv"
    write_reports(
        [
            _report(
                "1",
                "funeral_home",
                "223456789",
                "ROE",
                "1950-05-06",
                dod="2026-10-00",
                source="FH1",
            )
        ],
        f1,
    )
    write_reports(
        [_report("9", "state", "223456789", "ROE", "1950-05-06", dod="2026-10-02", source="TX")], f2
    )
    _ingest(loaded, f1)
    r = _ingest(loaded, f2)
    assert (r.posted_v, r.posted_p, r.corroborated, r.upgraded) == (0, 0, 1, 1)
    bob = status_of(loaded, 2)
    assert bob.death is not None
    assert (bob.death.proof, bob.death.dod, bob.death.version) == ("V", "2026-10-02", 2)
    assert bob.death.report_keys == ["FH1/1", "TX/9"]
    assert loaded.query("SELECT count(*) FROM deaths")[0][0] == 1


def test_sending_the_same_file_twice_records_nothing_new(loaded: Store, tmp_path: Path) -> None:
    f = tmp_path / "r.csv"
    write_reports([_report("1", "state", "123456789", "DOE", "1940-03-04")], f)
    _ingest(loaded, f)
    head = loaded.head()
    again = _ingest(loaded, f)
    assert again.received == 0 and again.duplicates == 1
    assert loaded.head() == head


def test_rule_linker_leaves_mismatches_unlinked(loaded: Store, tmp_path: Path) -> None:
    f = tmp_path / "r.csv"
    write_reports(
        [
            _report("1", "state", "123456789", "SMITH", "1940-03-04"),  # a relative's SSN?
            _report("2", "state", "423456789", "DOE", "1940-03-04"),  # nobody on file
        ],
        f,
    )
    r = _ingest(loaded, f)
    assert (r.linked, r.unlinked, r.posted_v) == (0, 2, 0)
    assert loaded.query("SELECT count(*) FROM deaths")[0][0] == 0
    assert loaded.query("SELECT count(*) FROM reports WHERE status = 'unlinked'")[0][0] == 2


def test_never_issued_ssn_is_kept_flagged_and_held(loaded: Store, tmp_path: Path) -> None:
    f = tmp_path / "r.csv"
    write_reports([_report("1", "state", "666456789", "DOE", "1940-03-04")], f)
    r = _ingest(loaded, f)
    assert (r.received, r.held) == (1, 1)
    (row,) = loaded.query("SELECT ssn, ssn_flag, status FROM reports")
    assert row == ("666456789", "area 666 is never issued", "held")


def test_unknown_date_of_death_is_held(loaded: Store, tmp_path: Path) -> None:
    f = tmp_path / "r.csv"
    write_reports([_report("1", "state", "123456789", "DOE", "1940-03-04", dod="")], f)
    assert _ingest(loaded, f).held == 1
    assert loaded.query("SELECT count(*) FROM deaths")[0][0] == 0


def _with_bad_line(tmp_path: Path) -> Path:
    f = tmp_path / "r.csv"
    write_reports(
        [
            _report("1", "state", "123456789", "DOE", "1940-03-04"),
            _report("2", "state", "223456789", "ROE", "1950-05-06"),
        ],
        f,
    )
    lines = f.read_text().splitlines()
    lines[2] = lines[2].replace("1950-05-06", "1950-13-06")
    f.write_text("\n".join(lines) + "\n")
    return f


def test_a_bad_record_refuses_the_file_whole(loaded: Store, tmp_path: Path) -> None:
    head = loaded.head()
    with pytest.raises(FileRejected) as info:
        _ingest(loaded, _with_bad_line(tmp_path))
    (problem,) = info.value.problems
    assert (problem.line, problem.field) == (3, "dob")
    assert "1950" not in str(problem) and "ROE" not in str(problem)
    assert loaded.head() == head


def test_quarantine_keeps_the_good_and_records_the_rejection(loaded: Store, tmp_path: Path) -> None:
    rejects = tmp_path / "rejects.csv"
    r = _ingest(loaded, _with_bad_line(tmp_path), quarantine=True, rejects_path=rejects)
    assert (r.received, r.rejected, r.posted_v) == (1, 1, 1)
    assert rejects.read_text().splitlines()[1].startswith("3,dob,")
    (body,) = loaded.query("SELECT body FROM ledger_events WHERE type = 'ingest.rejected'")[0]
    assert '"line":3' in body and "ROE" not in body


def test_dmf_layout_reports_are_ingested_and_bad_ssn_kept(loaded: Store, tmp_path: Path) -> None:
    from vitalfile.sources.dmf import DmfRecord, format_record

    ok = format_record(
        DmfRecord("", "123456789", "DOE", "", "ANN", "", "", "2026-10-01", "1940-03-04")
    )
    bad_ssn = format_record(
        DmfRecord("", "123456788", "ZED", "", "ANN", "", "", "2026-10-01", "1940-03-04")
    )
    bad_ssn = bad_ssn[:1] + "000456788" + bad_ssn[10:]
    f = tmp_path / "r.dmf"
    f.write_text(ok + "\n" + bad_ssn + "\n")
    r = ingest_file(loaded, f, source_kind="funeral_home", source_id="FH9", today=TODAY)
    assert (r.received, r.linked, r.posted_p, r.held) == (2, 1, 1, 1)
    again = ingest_file(loaded, f, source_kind="funeral_home", source_id="FH9", today=TODAY)
    assert again.received == 0


def test_an_empty_batch_and_a_batch_of_one(loaded: Store, tmp_path: Path) -> None:
    f = tmp_path / "r.csv"
    write_reports([], f)
    assert _ingest(loaded, f).received == 0
    write_reports([_report("7", "family", "", "DOE", "", dod="2026-01-00")], f)
    r = _ingest(loaded, f)
    assert r.received == 1 and r.held == 1  # no SSN: a person must look


def test_reports_survive_rebuild(tmp_path: Path) -> None:
    with open_store(str(tmp_path / "x.duckdb")) as store:
        load_people_file(store, _people(tmp_path / "p.csv"))
        f = tmp_path / "r.csv"
        write_reports(
            [
                _report("1", "state", "123456789", "DOE", "1940-03-04"),
                _report("2", "state", "666456789", "DOE", "1940-03-04"),
            ],
            f,
        )
        _ingest(store, f)
        before = (
            store.query("SELECT * FROM reports ORDER BY 1"),
            store.query("SELECT * FROM deaths ORDER BY 1"),
        )
        store.rebuild()
        after = (
            store.query("SELECT * FROM reports ORDER BY 1"),
            store.query("SELECT * FROM deaths ORDER BY 1"),
        )
    assert before == after


def test_no_report_is_dropped_a_states_unmatched_certificate_is_researched(
    loaded: Store, tmp_path: Path
) -> None:
    """Issue 15: a state's certificate for no one on file opens a research case; other
    sources' unmatched reports are listed with counts by source; a reviewer links or closes."""
    from vitalfile.cases.decide import decide
    from vitalfile.cases.framework import get_case, list_cases
    from vitalfile.master.unmatched import unmatched_counts, unmatched_reports

    f = tmp_path / "r.csv"
    write_reports(
        [
            _report("1", "state", "423456789", "ZED", "1931-01-01", source="TX"),
            _report("2", "family", "523456789", "YOU", "1932-02-02", source="FAM"),
            _report("3", "state", "123456789", "DOE", "1940-03-04", source="TX"),
        ],
        f,
    )
    r = _ingest(loaded, f)
    assert (r.linked, r.unlinked, r.research) == (1, 2, 1)
    assert r.unmatched_by_source == {"state": 1, "family": 1}
    assert unmatched_counts(loaded) == {"family": 1, "state": 1}
    rows = unmatched_reports(loaded)
    assert [(u.source_kind, bool(u.research_case)) for u in rows] == [
        ("state", True),
        ("family", False),
    ]
    assert [u.report_key for u in unmatched_reports(loaded, source_kind="family")] == ["FAM/2"]
    (case,) = [c for c in list_cases(loaded) if c.kind == "research"]
    assert case.about == "TX/1" and "no person on file" in case.reason and case.due
    # research finds no one: the reviewer closes the case, the report stays unlinked
    decide(loaded, case.case_id, "reject", reviewer="rae", reason="no one on file is the subject")
    assert get_case(loaded, case.case_id).state == "closed"
