"""Requests for personal data go through the gate: a request agreement, one person, a
permitted basis, a reference in the agreement's form, the certifying official, a
supervisor's approval, and bulk refused across submissions and doors (counted from the
ledger)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.helpers import ssn_of
from vitalfile.api import create_app
from vitalfile.api.settings import ApiSettings
from vitalfile.cases.decide import decide
from vitalfile.cases.framework import list_cases
from vitalfile.cli import main
from vitalfile.db import open_store
from vitalfile.disclosure.access import create_key
from vitalfile.disclosure.accounting import accounting, refusals
from vitalfile.disclosure.policy import add_agreement, add_recipient, end_agreement
from vitalfile.disclosure.requests import (
    Limits,
    RequestIn,
    approve_request,
    read_requests,
    submit_requests,
)
from vitalfile.errors import FileRejected, UsageError
from vitalfile.events import PersonRegistered
from vitalfile.ledger.store import Store

NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
OFFICIAL = "AUSA Jane Doe"
LIMITS = Limits(max_per_reference=1, max_per_period=50, period_days=30)


def people(n: int, first: int = 1) -> list[PersonRegistered]:
    return [
        PersonRegistered(
            person_id=p,
            ssn=ssn_of(p),
            last_name="ROE",
            address=f"{p} MAIN ST",
            city="TOWN",
            state="OH",
            zip="43001",
        )
        for p in range(first, first + n)
    ]


def request_agreement(store: Store, agency: str = "FBI", end: str = "2030-12-31") -> None:
    add_recipient(store, agency, "federal", agency)
    add_agreement(
        store,
        f"{agency}-req",
        agency,
        purpose="law enforcement: violent crime",
        authority="5 USC 552a(b)(7)",
        fields=["address", "city", "state", "zip"],
        start="2020-01-01",
        end=end,
        kind="request",
        bases=["violent_crime_indictment", "violent_crime_conviction"],
        case_ref_pattern=r"IND-\d{4}-\d{3,4}",
        certifying_official=OFFICIAL,
    )


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = str(tmp_path / "req.duckdb")
    with open_store(url) as s:
        s.append([*people(5), PersonRegistered(person_id=9, ssn=ssn_of(5), last_name="ROE")])
        request_agreement(s)
    return url


def _file(path: Path, rows: list[str]) -> Path:
    path.write_text("agency,ssn,basis,case_ref,certified_by\n" + "".join(r + "\n" for r in rows))
    return path


def test_the_gate_and_a_supervisors_approval(db: str, tmp_path: Path) -> None:
    f = _file(
        tmp_path / "r.csv",
        [
            f"FBI,{ssn_of(1)},violent_crime_indictment,IND-2025-001,{OFFICIAL}",
            f"FBI,{ssn_of(2)},program_fraud_investigation,IND-2025-002,{OFFICIAL}",  # basis
            f"FBI,{ssn_of(3)},violent_crime_conviction,CASE 7,{OFFICIAL}",  # form
            f"FBI,{ssn_of(4)},violent_crime_conviction,IND-2025-004,Someone Else",  # official
            f"FBI,{ssn_of(5)},violent_crime_conviction,IND-2025-005,{OFFICIAL}",  # shared SSN
            f"POLICE,{ssn_of(1)},violent_crime_conviction,IND-2025-006,{OFFICIAL}",  # stranger
            f"FBI,999001234,violent_crime_conviction,IND-2025-007,{OFFICIAL}",  # no one
        ],
    )
    items, errors = read_requests(f)
    assert errors == []
    with open_store(db) as store:
        r = submit_requests(store, items, now=NOW, limits=LIMITS)
        by_line = {o.line: o for o in r.outcomes}
        assert by_line[2].outcome == "awaiting_approval" and by_line[2].answer == {}
        assert "basis not allowed" in by_line[3].reason
        assert "form the agreement gives" in by_line[4].reason
        assert "not certified by the official" in by_line[5].reason
        assert by_line[6].outcome == "held"
        assert by_line[7].reason == "unknown recipient"
        assert by_line[8].reason == "no person on file with this SSN"
        assert (r.awaiting_approval, r.refused, r.held) == (1, 5, 1)
        # nothing given before a supervisor approves; the stranger is in no one's accounting
        assert [a["recipient"] for a in accounting(store, ssn_of(1))] == []
        assert [a["kind"] for a in accounting(store, ssn_of(2))] == ["refusal"]
        o = approve_request(store, by_line[2].request_id, supervisor="sam", now=NOW)
        assert o.outcome == "granted" and o.answer["address"] == "1 MAIN ST"
        acc = accounting(store, ssn_of(1))
        assert [(a["kind"], a["channel"], a["agreement_id"]) for a in acc] == [
            ("disclosure", "request", "FBI-req")
        ]
        assert "IND-2025-001" in acc[0]["purpose"] and "approved by sam" in acc[0]["purpose"]
        with pytest.raises(UsageError):  # approved once only
            approve_request(store, by_line[2].request_id, supervisor="sam", now=NOW)
        # the held request: a reviewer names the person, a supervisor approves it
        case = list_cases(store, kind="disclosure_request")[0]
        decide(store, case.case_id, "grant", reviewer="kim", reason="warrant DOB", person_id=5)
        assert approve_request(store, case.about, supervisor="sam", now=NOW).outcome == "granted"
        assert [a["kind"] for a in accounting(store, ssn_of(5)) if a["person_id"] == 5] == [
            "disclosure"
        ]
        # the same file again records nothing new
        assert submit_requests(store, items, now=NOW, limits=LIMITS).duplicates == 7


def test_one_reference_is_one_person_across_files(db: str, tmp_path: Path) -> None:
    rows = [f"FBI,{ssn_of(p)},violent_crime_indictment,IND-2025-100,{OFFICIAL}" for p in (1, 2)]
    with open_store(db) as store:
        one = submit_requests(store, read_requests(_file(tmp_path / "a", rows[:1]))[0], now=NOW)
        two = submit_requests(store, read_requests(_file(tmp_path / "b", rows[1:]))[0], now=NOW)
        assert one.awaiting_approval == 1
        assert two.refused == 1 and "bulk" in two.outcomes[0].reason
        # the same two lines in one file: the same answer
        both = submit_requests(
            store,
            [
                RequestIn(
                    "FBI", ssn_of(p), "violent_crime_indictment", "IND-2025-101", OFFICIAL, 2 + p
                )
                for p in (3, 4)
            ],
            now=NOW,
        )
        assert [o.outcome for o in both.outcomes] == ["awaiting_approval", "refused"]


def test_an_ended_request_agreement_refuses_even_an_approval(db: str) -> None:
    with open_store(db) as store:
        item = RequestIn("FBI", ssn_of(1), "violent_crime_indictment", "IND-2025-200", OFFICIAL)
        rid = submit_requests(store, [item], now=NOW).outcomes[0].request_id
        end_agreement(store, "FBI-req", end="2025-06-01", reason="ended")
        o = approve_request(store, rid, supervisor="sam", now=datetime(2025, 6, 3, tzinfo=UTC))
        assert o.outcome == "refused" and "not in force" in o.reason
        assert [a["kind"] for a in accounting(store, ssn_of(1))] == ["refusal"]
        # a request agreement covers no file, and a file agreement no request
        add_recipient(store, "bank", "certified")
        add_agreement(
            store,
            "bank-1",
            "bank",
            purpose="fraud prevention",
            authority="15 USC 1681",
            fields=["ssn", "dod"],
            start="2020-01-01",
            end="2030-01-01",
        )
        r = submit_requests(
            store,
            [RequestIn("bank", ssn_of(2), "violent_crime_indictment", "IND-2025-9", OFFICIAL)],
            now=NOW,
        )
        assert r.outcomes[0].reason == "no request agreement with this agency"


def test_a_person_list_split_into_single_requests_is_refused_past_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A list of 400 people, one request each with its own invented reference, 60 as
    one-line files through the command line and 340 as one HTTP call each: the gate counts
    from the ledger, so past the agency's limit for the period (50) every one is refused,
    recorded, accounted, whichever door it came through."""
    monkeypatch.setenv("VITALFILE_REQUEST_MAX_PER_PERIOD", "50")
    split, listed = 60, 400
    db = str(tmp_path / "bulk.duckdb")
    with open_store(db) as store:
        store.append(people(listed))
        request_agreement(store)
        intake = create_key(store, role="intake", label="ivy")[1]
    for p in range(1, split + 1):
        f = _file(
            tmp_path / f"one-{p}.csv",
            [f"FBI,{ssn_of(p)},violent_crime_indictment,IND-2025-{p:04d},{OFFICIAL}"],
        )
        assert main(["--db", db, "request", "submit", str(f)]) == 0
    capsys.readouterr()
    settings = ApiSettings(db=db, work_dir=tmp_path / "api", key_path=tmp_path / "none.pem")
    outcomes: list[str] = []
    with TestClient(create_app(settings)) as client:
        for p in range(split + 1, listed + 1):
            r = client.post(
                "/v1/requests",
                json={
                    "agency": "FBI",
                    "ssn": ssn_of(p),
                    "basis": "violent_crime_indictment",
                    "case_ref": f"IND-2025-{p:04d}",
                    "certified_by": OFFICIAL,
                },
                headers={"Authorization": f"Bearer {intake}"},
            )
            assert r.status_code == 201, r.text
            outcomes.append(r.json()["outcome"])
    assert set(outcomes) == {"refused"}  # the 50 were all used by the command line
    with open_store(db) as store:
        counts = dict(store.query("SELECT outcome, count(*) FROM requests GROUP BY outcome"))
        assert counts == {"awaiting_approval": 50, "refused": listed - 50}
        refused = refusals(store, recipient="FBI", limit=5000)
        assert len(refused) == listed - 50 and all("bulk" in r["reason"] for r in refused)
        for p in (51, split, split + 1, listed):  # each refusal is in that person's accounting
            acc = accounting(store, ssn_of(p))
            assert [(a["kind"], a["channel"]) for a in acc] == [("refusal", "request")]
        assert accounting(store, ssn_of(50)) == []  # awaiting approval: nothing given yet


def test_bad_input_one_error_nothing_written(db: str, tmp_path: Path) -> None:
    bad = _file(tmp_path / "bad.csv", [f"FBI,12345,violent_crime_indictment,X,{OFFICIAL}"])
    assert read_requests(bad)[1][0].context["line"] == 2
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("agency,ssn,basis,case_ref\n")  # the old header: no certifying official
    with pytest.raises(FileRejected):
        read_requests(wrong)
    with open_store(db) as store:
        before = store.head()
        with pytest.raises(UsageError):
            add_agreement(
                store,
                "x",
                "FBI",
                purpose="p",
                authority="a",
                fields=["address"],
                start="2020-01-01",
                end="2030-01-01",
                kind="request",
                bases=["parking_fines"],
                case_ref_pattern="X-.*",
                certifying_official="o",
            )
        with pytest.raises(UsageError):
            approve_request(store, "Q-0000000000000000", supervisor="")
        assert store.head() == before
    assert main(["--db", db, "request", "submit", str(bad)]) != 0
    assert main(["--db", db, "request", "approve", "Q-0000000000000000", "--supervisor", "s"]) == 3
    f = _file(tmp_path / "one.csv", [f"FBI,{ssn_of(1)},violent_crime_indictment,IND-2025-1,x"])
    assert main(["--db", db, "request", "submit", str(f)]) == 0
    with open_store(db) as s:
        before2 = (
            sorted(s.query("SELECT * FROM requests")),
            sorted(s.query("SELECT * FROM disclosures"), key=repr),
        )
        s.rebuild()
        after = (
            sorted(s.query("SELECT * FROM requests")),
            sorted(s.query("SELECT * FROM disclosures"), key=repr),
        )
        assert after == before2 and len(before2[0]) == 1


def test_limits_count_from_the_ledger_on_every_backend(store: Store) -> None:
    """The shared backend fixture: DuckDB and PostgreSQL count alike."""
    store.append(people(4))
    request_agreement(store)
    lim = Limits(max_per_reference=2, max_per_period=3, period_days=30)
    got = []
    for p in range(1, 5):
        item = RequestIn("FBI", ssn_of(p), "violent_crime_indictment", f"IND-2025-{p // 3}00",
                         OFFICIAL)  # fmt: skip
        got.append(submit_requests(store, [item], now=NOW, limits=lim).outcomes[0])
    assert [o.outcome for o in got] == ["awaiting_approval"] * 3 + ["refused"]
    assert "days" in got[3].reason
    store.rebuild()
    assert store.query("SELECT count(*) FROM requests WHERE outcome = 'refused'")[0][0] == 1
