"""The library under the console (issue 18): who may decide a case and when (a stale
version, one's own case), a decision previewed without recording, consequences in words,
the side-by-side sheet, the dashboards' figures, and the person's one-time access codes.
Runs on DuckDB and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.api_world import LAST, build_world, noticed_determination, ssn_of
from tests.conftest import BACKENDS
from vitalfile.cases.access import (
    MAX_FAILURES,
    Attempts,
    CodeRefused,
    TooManyAttempts,
    file_challenge,
    issue_code,
    open_with_code,
    print_notice,
)
from vitalfile.cases.decide import decide, submitter_of
from vitalfile.cases.framework import get_case, open_dispute
from vitalfile.cases.review import describe, protective_hold, review_sheet
from vitalfile.db import open_store
from vitalfile.errors import NotFound, PolicyError, StateConflict, UsageError
from vitalfile.ledger.store import Store
from vitalfile.overview import figures
from vitalfile.overview.record import own_record
from vitalfile.overview.timeline import history


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = (
        str(tmp_path / "w.duckdb")
        if request.param == "duckdb"
        else request.getfixturevalue("pg_url")
    )
    build_world(url, tmp_path / "work")
    s = open_store(url)
    try:
        yield s
    finally:
        s.close()


def test_a_stale_case_and_ones_own_case_are_refused(store: Store) -> None:
    cid = open_dispute(store, ssn_of(2), evidence=["visit"], opened_by="lee")
    case = get_case(store, cid)
    assert submitter_of(store, case) == "lee"
    with pytest.raises(PolicyError, match="you submitted this case"):
        decide(store, cid, "uphold", reviewer="lee", reason="x")
    seen = case.updated_seq
    decide(store, cid, "uphold", reviewer="kim", reason="no proof of life", expected_version=seen)
    with pytest.raises(StateConflict, match="kim recorded 'uphold' on this case"):
        decide(store, cid, "retract", reviewer="max", reason="alive", expected_version=seen)
    assert get_case(store, cid).decision == "uphold"


def test_a_link_is_previewed_in_words_and_nothing_is_recorded(store: Store) -> None:
    case = get_case(store, "R/family/h4")
    report_state = None
    from vitalfile.master.projection import load_reports

    report_state = load_reports(store, [case.about])[case.about]
    assert "no usable SSN" in protective_hold(case, report_state)
    head = store.head()
    preview = decide(
        store, case.case_id, "link", reviewer="kim", reason="", person_id=4, preview=True
    )
    assert preview.preview and preview.commit_no is None and store.head() == head
    words = [c.text for c in describe(store, preview.appended)]
    assert f"The death of ANN {LAST[4]} is posted" in " ".join(words)
    assert any("level P (proof not verified" in w for w in words)
    assert all(c.person_id == 4 for c in describe(store, preview.appended))
    # a confirm step that asked why the protective hold may be overridden needs the answer
    with pytest.raises(UsageError, match="held to protect a living person"):
        decide(store, case.case_id, "link", reviewer="kim", reason="r", person_id=4, override=" ")
    assert store.head() == head
    done = decide(
        store, case.case_id, "link", reviewer="kim", reason="r", person_id=4, override="seen"
    )
    assert done.commit_no is not None
    assert get_case(store, case.case_id).history[-1].reason == "r (hold overridden: seen)"


def test_the_sheet_puts_the_report_beside_each_candidate(store: Store) -> None:
    sheet = review_sheet(store, get_case(store, "R/family/h4"))
    assert sheet is not None and sheet.candidates
    best = next(c for c in sheet.candidates if c.person_id == 4)
    labels = [r.label for r in best.rows]
    assert labels[:2] == ["SSN", "first name"] and "sex" in labels and "birth date" in labels
    if best.total is not None:  # the model scored: the bars add up to the total
        assert best.bars()[0][0] == "starting point"
        assert abs(sum(w for _, w in best.bars()) - best.total) < 1e-6
    other = next((c for c in sheet.candidates if c.person_id == 1), None)
    if other is not None:  # a neighbouring SSN: the differing digit is marked
        ssn_row = other.rows[0]
        assert [d for d, differs in ssn_row.digits if differs] == ["1"]


def test_figures_and_history(store: Store) -> None:
    rows, overdue = figures.queue(store)
    assert [r.case.case_id for r in rows] == ["R/family/h4"] and overdue == 0
    assert rows[0].group == "no usable SSN"
    assert figures.queue(store, group="minor")[0] == []
    assert ("funeral_home", 0, 2) in figures.deaths_by_source(store)
    groups, weeks = figures.held_by_week(store)
    assert groups == ["no usable SSN"] and sum(sum(v) for _, v in weeks) == 1
    assert figures.queue_over_time(store)[-1]["open"] == 1
    entries = history(store, 2)
    assert [e.lane for e in entries][:1] == ["person"] and "death" in {e.lane for e in entries}
    assert history(store, 2, "2001-01-01") == []


def test_an_access_code_opens_one_record_once(store: Store) -> None:
    code = issue_code(store, 2, notice="retraction:2")
    # only its hash is kept: the code itself is nowhere in the ledger
    assert not any(code.replace("-", "") in se.event.to_json() for se in store.iter_events())
    with pytest.raises(CodeRefused) as wrong:
        open_with_code(store, "AAAA-BBBB-CCCC", ssn_of(2))
    with pytest.raises(CodeRefused) as other_ssn:
        open_with_code(store, code, ssn_of(3))
    assert wrong.value.message == other_ssn.value.message  # a wrong code reveals nothing
    assert open_with_code(store, code.lower(), ssn_of(2)) == 2
    with pytest.raises(CodeRefused):
        open_with_code(store, code, ssn_of(2))  # once
    rec = own_record(store, 2)
    assert rec["fields"]["last_name"] == LAST[2] and rec["death"].status == "current"
    cid = file_challenge(store, 2, what="death", ground="I am alive", evidence=["passport"])
    assert get_case(store, cid).kind == "dispute"
    assert submitter_of(store, get_case(store, cid)) == "subject"


def test_codes_expire_and_die_after_failures(store: Store) -> None:
    old = datetime.now(UTC) - timedelta(days=90)
    expired = issue_code(store, 5, notice="n", now=old)
    with pytest.raises(CodeRefused):
        open_with_code(store, expired, ssn_of(5))
    code = issue_code(store, 5, notice="n")
    for _ in range(MAX_FAILURES):
        with pytest.raises(CodeRefused):
            open_with_code(store, code, ssn_of(6))
    with pytest.raises(CodeRefused):
        open_with_code(store, code, ssn_of(5))  # void now, even with the right SSN
    # the codes are a projection keyed by their hash: rebuilt from the events, the same rows
    codes = sorted(store.query("SELECT * FROM access_codes"))
    assert sorted((r[2], r[5], r[6]) for r in codes) == [(5, False, 0), (5, False, MAX_FAILURES)]
    store.rebuild()
    assert sorted(store.query("SELECT * FROM access_codes")) == codes
    limiter = Attempts(limit=2, window=60)
    limiter.check("a")
    limiter.check("a")
    limiter.check("b")
    with pytest.raises(TooManyAttempts):
        limiter.check("a")


def test_a_notice_is_printed_with_a_code_for_its_subject_only(store: Store) -> None:
    with pytest.raises(NotFound, match="no notice to send"):
        print_notice(store, person_id=5)  # alive, no determination: nothing to send
    cid = open_dispute(store, ssn_of(2), evidence=["visit"], opened_by="lee")
    decide(store, cid, "retract", reviewer="kim", reason="seen alive")
    printed = print_notice(store, person_id=2)
    assert printed.notice == "retraction:2" and printed.person_id == 2
    assert f"the access code {printed.code}" in printed.text and printed.text.isascii()
    # another person's determination is not printed for this one
    with pytest.raises(NotFound):
        print_notice(store, person_id=2, determination_id="DT-" + "0" * 16)
    with pytest.raises(UsageError):
        print_notice(store)
    assert open_with_code(store, printed.code, ssn_of(2)) == 2
    rows = store.query("SELECT notice, used FROM access_codes WHERE person_id = 2")
    assert rows == [("retraction:2", True)]


def test_the_latest_notice_is_printed_unless_one_is_named(store: Store) -> None:
    from vitalfile.events import DeathPosted

    notice = noticed_determination(store, 5)
    did = notice.determination_id
    assert print_notice(store, person_id=5).notice == notice.notice_id
    # later, a death wrongly posted for person 5 is retracted: that notice is the latest
    store.append(
        [
            DeathPosted(
                person_id=5, dod="2025-02-01", proof="P", report_key="x/1", source_kind="family"
            )
        ]
    )
    cid = open_dispute(store, ssn_of(5), evidence=["visit"], opened_by="lee")
    decide(store, cid, "retract", reviewer="kim", reason="seen alive")
    assert print_notice(store, person_id=5).notice == "retraction:5"
    named = print_notice(store, determination_id=did)
    assert named.notice == notice.notice_id and named.person_id == 5
    assert "HOW TO CONTEST" in named.text and f"access code {named.code}" in named.text
