"""Signs of life: activity after a recorded date of death opens one review case."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.helpers import ssn_of
from vitalfile.cases.decide import decide
from vitalfile.cases.framework import get_case, list_cases
from vitalfile.cli import main
from vitalfile.db import open_store
from vitalfile.errors import FileRejected
from vitalfile.events import DeathPosted, PersonRegistered
from vitalfile.intake.activity import (
    activity_after,
    has_activity_after,
    ingest_activity,
    latest_activity,
)
from vitalfile.ledger.store import Store
from vitalfile.master.projection import load_people

NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(store: Store) -> Store:
    """The shared fixture's store (DuckDB and PostgreSQL), with this file's people."""
    s = store
    s.append(
        [
            PersonRegistered(person_id=i, ssn=ssn_of(i), last_name="DOE", dob="1960-03-04")
            for i in range(1, 5)
        ]
    )
    s.append(
        [
            DeathPosted(
                person_id=1,
                dod="2025-03-00",
                proof="P",
                report_key="fam/1",
                source_kind="family",
            ),
            DeathPosted(
                person_id=2, dod="2025-03-10", proof="V", report_key="st/2", source_kind="state"
            ),
        ]
    )
    return s


def _feed(path: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    path.write_text(
        "ssn,kind,date,source\n" + "".join(",".join(r) + "\n" for r in rows), encoding="utf-8"
    )
    return path


def test_activity_after_death_opens_one_case_not_one_per_line(store: Store, tmp_path: Path) -> None:
    feed = _feed(
        tmp_path / "a.csv",
        [
            (ssn_of(1), "earnings", "2025-04-15", "employer-77"),
            (ssn_of(1), "office_visit", "2025-05-02", "office-12"),
            (ssn_of(1), "claim", "2025-03-20", "claims"),  # March: the death's month, not after
            (ssn_of(2), "earnings", "2025-03-01", "employer-9"),  # before the death
            (ssn_of(3), "account_opened", "2025-05-05", "bank-1"),  # alive, no death
            ("999001234", "earnings", "2025-05-05", "employer-1"),  # nobody on file
        ],
    )
    r = ingest_activity(store, feed, now=NOW)
    assert (r.recorded, r.after_death, r.unmatched) == (6, 2, 1)
    assert r.cases_opened == ["L/1/v1"]
    c = get_case(store, "L/1/v1")
    assert c.kind == "review" and c.person_id == 1 and c.state == "open"
    assert "2 activity line(s)" in c.reason and len(c.evidence) == 2
    # the same file again records nothing new; new activity on the same death opens nothing
    again = ingest_activity(store, feed, now=NOW)
    assert (again.recorded, again.duplicates, again.cases_opened) == (0, 6, [])
    more = _feed(tmp_path / "b.csv", [(ssn_of(1), "claim", "2025-05-20", "claims")])
    assert ingest_activity(store, more, now=NOW).cases_opened == []
    assert len(list_cases(store, kind="review")) == 1


def test_the_posting_rule_can_ask_about_activity_after_a_date(store: Store, tmp_path: Path) -> None:
    ingest_activity(
        store, _feed(tmp_path / "a.csv", [(ssn_of(3), "earnings", "2025-05-01", "e")]), now=NOW
    )
    assert latest_activity(store, [3, 4]) == {3: "2025-05-01"}
    assert has_activity_after(store, 3, "2025-04-30")
    assert not has_activity_after(store, 3, "2025-05-01")
    assert not has_activity_after(store, 3, "2025-05-00")  # May, day unknown: not after
    assert activity_after(store, {3: "2025-01-01", 4: "2025-01-01"}) == {3}


def test_reviewer_decides_the_signs_of_life_case(store: Store, tmp_path: Path) -> None:
    ingest_activity(
        store, _feed(tmp_path / "a.csv", [(ssn_of(1), "earnings", "2025-05-01", "e")]), now=NOW
    )
    decide(store, "L/1/v1", "retract", reviewer="kim", reason="earnings confirmed with employer")
    d = load_people(store, [1])[1].death
    assert d is not None and d.status == "retracted"


def test_a_bad_line_refuses_the_feed_whole(store: Store, tmp_path: Path) -> None:
    bad = _feed(
        tmp_path / "bad.csv",
        [(ssn_of(1), "earnings", "2025-05-01", "e"), (ssn_of(1), "lottery", "2025-05-01", "e")],
    )
    with pytest.raises(FileRejected) as exc:
        ingest_activity(store, bad)
    assert exc.value.problems[0].context["line"] == 3
    assert store.query("SELECT count(*) FROM activity")[0][0] == 0


def test_cli_ingest_activity_and_rebuild(store: Store, tmp_path: Path) -> None:
    feed = _feed(tmp_path / "a.csv", [(ssn_of(2), "claim", "2025-06-01", "claims")])
    db = store.url
    store.close()
    assert main(["--db", db, "ingest", "activity", str(feed)]) == 0
    with open_store(db) as s:
        assert [c.case_id for c in list_cases(s)] == ["L/2/v1"]
        before = sorted(s.query("SELECT * FROM activity")), sorted(s.query("SELECT * FROM cases"))
        s.rebuild()
        after = sorted(s.query("SELECT * FROM activity")), sorted(s.query("SELECT * FROM cases"))
        assert after == before


def test_a_lone_family_report_before_activity_is_held_for_review(
    store: Store, tmp_path: Path
) -> None:
    from vitalfile.events import ReportReceived
    from vitalfile.intake.reports import ingest_reports

    ingest_activity(
        store, _feed(tmp_path / "a.csv", [(ssn_of(3), "earnings", "2025-05-01", "e")]), now=NOW
    )
    rep = ReportReceived(
        report_key="fam/x",
        source_kind="family",
        source_id="fam",
        report_id="x",
        ssn=ssn_of(3),
        last_name="DOE",
        dob="1960-03-04",
        dod="2025-04-01",
    )
    r = ingest_reports(store, [rep])
    assert (r.held, r.posted_p) == (1, 0)
    case = get_case(store, "R/fam/x")
    assert case.kind == "review" and "activity" in case.reason
    assert load_people(store, [3])[3].death is None
