"""Due process on every backend: the same flows, and rebuilt projections equal incremental."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.helpers import ssn_of
from vitalfile.cases.decide import decide
from vitalfile.cases.determinations import (
    DeterminationIn,
    get_determination,
    submit_determinations,
)
from vitalfile.cases.framework import list_cases, open_dispute, review_case_id
from vitalfile.cases.window import advance, contest, issue_notice
from vitalfile.disclosure.requests import RequestIn, submit_requests
from vitalfile.events import DeathPosted, PersonRegistered, ReportReceived
from vitalfile.intake.activity import ingest_activity
from vitalfile.intake.reports import ingest_reports
from vitalfile.ledger.store import Store
from vitalfile.master.projection import load_people

NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
TABLES = (
    "cases",
    "case_decisions",
    "corrections_queued",
    "activity",
    "determinations",
    "determination_notices",
    "requests",
)


def _snapshot(store: Store) -> dict[str, list[tuple[object, ...]]]:
    return {t: sorted(store.query(f"SELECT * FROM {t}"), key=repr) for t in TABLES}


def test_due_process_flows_and_rebuild(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.append(
        [
            PersonRegistered(
                person_id=i,
                ssn=ssn_of(i),
                first_name="ANN",
                last_name="SMITH",
                dob="1950-01-02",
                address=f"{i} ELM",
            )
            for i in range(1, 6)
        ]
    )
    store.append(
        [
            DeathPosted(
                person_id=1,
                dod="2025-01-01",
                proof="P",
                report_key="fh/1",
                source_kind="funeral_home",
            )
        ]
    )
    ingest_reports(
        store,
        [
            ReportReceived(
                report_key="fh/h",
                source_kind="funeral_home",
                source_id="fh",
                report_id="h",
                ssn="000123456",
                ssn_flag="area 000 is never issued",
                last_name="SMITH",
                dod="2025-05-01",
            )
        ],
    )
    assert [c.case_id for c in list_cases(store, kind="review")] == [review_case_id("fh/h")]
    decide(
        store, review_case_id("fh/h"), "link", reviewer="k", reason="r", person_id=2, override="o"
    )
    cid = open_dispute(store, ssn_of(1), evidence=["passport"], now=NOW)
    decide(store, cid, "retract", reviewer="k", reason="alive", now=NOW)
    st = load_people(store, [1])[1]
    assert st.death is not None and st.death.status == "retracted"
    feed = tmp_path / "a.csv"
    feed.write_text(f"ssn,kind,date,source\n{ssn_of(2)},earnings,2025-06-01,emp\n")
    assert ingest_activity(store, feed, now=NOW).cases_opened == ["L/2/v1"]
    item = DeterminationIn(
        ssn=ssn_of(3),
        kind="benefit_ineligible",
        authority="42 USC 1",
        effective_date="2025-07-01",
        last_name="SMITH",
        dob="1950-01-02",
    )
    other = DeterminationIn(
        ssn=ssn_of(4),
        kind="benefit_ineligible",
        authority="42 USC 1",
        effective_date="2025-07-01",
        last_name="SMITH",
        dob="1950-01-02",
    )
    ids = submit_determinations(store, [item, other], agency="A", now=NOW).ids
    monkeypatch.setenv("VITALFILE_TEST_CLOCK", NOW.date().isoformat())
    for did in ids:
        issue_notice(store, did, method="mail", sent_to="1 MAIN ST", issued_by="lee")
    contest(store, ids[1], ground="not me")
    monkeypatch.setenv("VITALFILE_TEST_CLOCK", "2025-07-03")
    assert advance(store) == [ids[0]]
    assert get_determination(store, ids[0]).state == "in_effect"
    r = submit_requests(
        store,
        [RequestIn("FBI", ssn_of(5), "violent_crime_indictment", "IND-1", "AUSA DOE", 2)],
        now=NOW,
    )
    assert r.refused == 1  # no request agreement with FBI: refused, recorded
    before = _snapshot(store)
    store.rebuild()
    assert _snapshot(store) == before
