"""Requests for personal data: granted only where the rules allow, each accounted for."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from vitalfile.cases.framework import decide, list_cases
from vitalfile.cli import main
from vitalfile.db import open_store
from vitalfile.disclosure.accounting import accounting
from vitalfile.disclosure.requests import BULK_REASON, read_requests, submit_requests
from vitalfile.errors import FileRejected
from vitalfile.events import PersonRegistered
from vitalfile.ledger.store import Store

NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)


def ssn_of(pid: int) -> str:
    return f"{123000000 + pid:09d}"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = open_store(str(tmp_path / "req.duckdb"))
    s.append(
        [
            PersonRegistered(
                person_id=p,
                ssn=ssn_of(p),
                last_name="ROE",
                address=f"{p} MAIN ST",
                city="TOWN",
                state="OH",
                zip="43001",
            )
            for p in range(1, 6)
        ]
        + [PersonRegistered(person_id=9, ssn=ssn_of(5), last_name="ROE")]  # a shared SSN
    )
    return s


def _file(path: Path, rows: list[str]) -> Path:
    path.write_text("agency,ssn,basis,case_ref\n" + "".join(r + "\n" for r in rows))
    return path


def test_granted_only_where_the_rules_allow(store: Store, tmp_path: Path) -> None:
    f = _file(
        tmp_path / "r.csv",
        [
            f"FBI,{ssn_of(1)},violent_crime_indictment,IND-2025-001",
            f"OIG,{ssn_of(2)},program_fraud_investigation,INV-77",
            f"POLICE,{ssn_of(3)},outstanding_parking_fines,PF-1",
            f"DEA,{ssn_of(4)},violent_crime_conviction,",
            f"USMS,{ssn_of(5)},violent_crime_conviction,CONV-5",
            "ATF,999001234,violent_crime_conviction,CONV-6",
        ],
    )
    items, errors = read_requests(f)
    assert errors == []
    r = submit_requests(store, items, now=NOW)
    by_line = {o.line: o for o in r.outcomes}
    assert by_line[2].outcome == "granted" and by_line[2].answer["address"] == "1 MAIN ST"
    assert by_line[3].outcome == "granted"
    assert by_line[4].outcome == "refused" and "basis not allowed" in by_line[4].reason
    assert by_line[5].outcome == "refused" and "no case reference" in by_line[5].reason
    assert by_line[6].outcome == "held"  # two people share the SSN: a reviewer decides
    assert by_line[7].outcome == "refused" and by_line[7].person_id is None
    assert (r.granted, r.refused, r.held) == (2, 3, 1)
    # each is in the person's accounting, granted or refused, with its basis and reference
    acc = accounting(store, ssn_of(1))
    assert [(a["kind"], a["channel"], a["recipient"]) for a in acc] == [
        ("disclosure", "request", "FBI")
    ]
    assert "IND-2025-001" in acc[0]["purpose"] and "violent crime" in acc[0]["authority"]
    refused = accounting(store, ssn_of(3))
    assert refused[0]["kind"] == "refusal" and "basis not allowed" in refused[0]["given"]
    rows = store.query("SELECT basis, case_ref, outcome FROM requests ORDER BY line")
    assert rows[0] == ("violent_crime_indictment", "IND-2025-001", "granted")
    # the held request: a reviewer grants it for one named person
    case = list_cases(store, kind="disclosure_request")[0]
    decide(store, case.case_id, "grant", reviewer="kim", reason="warrant names DOB", person_id=5)
    assert [a["kind"] for a in accounting(store, ssn_of(5)) if a["person_id"] == 5] == [
        "disclosure"
    ]
    # the same file again records nothing new
    assert submit_requests(store, items, now=NOW).duplicates == 6


def test_a_list_with_one_shared_basis_is_refused_line_by_line(store: Store, tmp_path: Path) -> None:
    f = _file(
        tmp_path / "list.csv",
        [f"STATEPD,{ssn_of(p)},violent_crime_indictment,OPERATION-X" for p in (1, 2, 3)],
    )
    r = submit_requests(store, read_requests(f)[0], now=NOW)
    assert r.refused == 3 and r.granted == 0
    assert all(o.reason == BULK_REASON for o in r.outcomes)
    for p in (1, 2, 3):
        acc = accounting(store, ssn_of(p))
        assert len(acc) == 1 and acc[0]["kind"] == "refusal"
        assert BULK_REASON in acc[0]["given"]


def test_bad_file_and_cli_and_rebuild(store: Store, tmp_path: Path) -> None:
    bad = _file(tmp_path / "bad.csv", ["FBI,12345,violent_crime_indictment,X"])
    assert read_requests(bad)[1][0].context["line"] == 2
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("who,ssn\n")
    with pytest.raises(FileRejected):
        read_requests(wrong)
    f = _file(tmp_path / "one.csv", [f"FBI,{ssn_of(1)},violent_crime_indictment,IND-1"])
    db = store.url
    store.close()
    assert main(["--db", db, "request", "submit", str(f)]) == 0
    assert main(["--db", db, "request", "submit", str(bad)]) != 0
    with open_store(db) as s:
        before = (
            sorted(s.query("SELECT * FROM requests")),
            sorted(s.query("SELECT * FROM disclosures"), key=repr),
        )
        s.rebuild()
        after = (
            sorted(s.query("SELECT * FROM requests")),
            sorted(s.query("SELECT * FROM disclosures"), key=repr),
        )
        assert after == before and len(before[0]) == 1
