"""Cases: held reports become review cases; reviewers link or reject; disputes resurrect."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from tests.helpers import add_death_recipient, person, ssn_of
from vitalfile.cases.decide import decide
from vitalfile.cases.framework import get_case, holders_of, list_cases, open_dispute, review_case_id
from vitalfile.cli import main
from vitalfile.db import open_store
from vitalfile.disclosure.accounting import accounting
from vitalfile.disclosure.distribute import extract_full, extract_update, pending_corrections
from vitalfile.errors import NotFound, StateConflict, UsageError
from vitalfile.events import DeathPosted, ReportReceived
from vitalfile.intake.reports import ingest_reports
from vitalfile.ledger.store import Store
from vitalfile.master.projection import load_people, load_reports

NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)


def report(rid: str, pid: int, *, flag: str = "", dob: str = "1950-01-02") -> ReportReceived:
    return ReportReceived(
        report_key=f"fh/{rid}",
        source_kind="funeral_home",
        source_id="fh",
        report_id=rid,
        ssn=ssn_of(pid),
        ssn_flag=flag,
        first_name="ANN",
        last_name="SMITH",
        dob=dob,
        dod="2025-05-01",
    )


@pytest.fixture
def store(store: Store) -> Store:
    """The shared fixture's store (DuckDB and PostgreSQL), with this file's people."""
    s = store
    s.append([person(i) for i in range(1, 8)])
    return s


def _tables(store: Store) -> dict[str, list[tuple[object, ...]]]:
    return {
        t: sorted(store.query(f"SELECT * FROM {t}"), key=repr)
        for t in ("cases", "case_decisions", "corrections_queued", "deaths", "reports")
    }


def test_held_report_opens_a_review_case_with_its_explanation(store: Store) -> None:
    # the rule linker holds a report whose SSN is unusable
    ingest_reports(store, [report("a", 1, flag="area 000 is never issued")])
    cases = list_cases(store, kind="review")
    assert [c.case_id for c in cases] == [review_case_id("fh/a")]
    c = cases[0]
    assert c.state == "open" and c.about == "fh/a"
    assert "never issued" in c.reason
    assert c.due > c.opened_at[:10]
    # sending the same file again opens nothing new
    ingest_reports(store, [report("a", 1, flag="area 000 is never issued")])
    assert len(list_cases(store, kind="review")) == 1


def test_reviewer_links_a_held_report_and_the_death_is_posted(store: Store) -> None:
    ingest_reports(store, [report("a", 1, flag="area 000 is never issued")])
    cid = review_case_id("fh/a")
    with pytest.raises(UsageError):  # no candidate: the reviewer must name the person
        decide(store, cid, "link", reviewer="kim", reason="checked the certificate")
    with pytest.raises(UsageError, match="held to protect a living person"):  # no usable SSN
        decide(store, cid, "link", reviewer="kim", reason="checked the certificate", person_id=1)
    r = decide(
        store,
        cid,
        "link",
        reviewer="kim",
        reason="checked the certificate",
        person_id=1,
        now=NOW,
        override="the certificate carries the SSN",
    )
    assert "report.linked" in r.events and "death.posted" in r.events
    rep = load_reports(store, ["fh/a"])["fh/a"]
    assert rep.status == "linked" and rep.decided_by == "reviewer:kim"
    d = load_people(store, [1])[1].death
    assert d is not None and d.status == "current" and d.proof == "P"
    c = get_case(store, cid)
    assert c.state == "closed" and c.decision == "link"
    assert [(h.reviewer, h.reason) for h in c.history] == [
        ("kim", "checked the certificate (hold overridden: the certificate carries the SSN)")
    ]
    with pytest.raises(StateConflict):  # decided once (409 at the API)
        decide(store, cid, "reject", reviewer="kim", reason="again")


def test_reviewer_rejects_a_held_report(store: Store) -> None:
    ingest_reports(store, [report("b", 2, flag="area 000 is never issued")])
    cid = review_case_id("fh/b")
    decide(store, cid, "reject", reviewer="lee", reason="not a death report", evidence=["call 7"])
    rep = load_reports(store, ["fh/b"])["fh/b"]
    assert rep.status == "unlinked" and "not a death report" in rep.reason
    assert load_people(store, [2])[2].death is None
    assert get_case(store, cid).history[0].evidence == ("call 7",)


def _deliver(store: Store, tmp_path: Path) -> None:
    for name, tier in (("fed", "federal"), ("bank", "certified"), ("late", "certified")):
        add_death_recipient(store, name, tier)
    extract_full(store, tmp_path / "fed.dmf", recipient="fed", on=date(2025, 6, 1))
    extract_full(store, tmp_path / "bank.dmf", recipient="bank", on=date(2025, 6, 1))


def test_resurrection_retracts_and_queues_corrections_for_exactly_who_got_it(
    store: Store, tmp_path: Path
) -> None:
    store.append(
        [
            DeathPosted(
                person_id=3,
                dod="2025-04-01",
                proof="P",
                report_key="fh/x3",
                source_kind="funeral_home",
            ),
            DeathPosted(
                person_id=4,
                dod="2025-04-01",
                proof="P",
                report_key="fh/x4",
                source_kind="funeral_home",
            ),
        ]
    )
    _deliver(store, tmp_path)
    assert {r for r, _ in holders_of(store, 3)} == {"fed", "bank"}
    with pytest.raises(UsageError):  # evidence is required
        open_dispute(store, ssn_of(3), evidence=[])
    with pytest.raises(UsageError):  # no death to dispute
        open_dispute(store, ssn_of(5), evidence=["id card"])
    with pytest.raises(NotFound):
        open_dispute(store, "999887777", evidence=["id card"])
    cid = open_dispute(store, ssn_of(3), evidence=["passport seen at office 12"], now=NOW)
    with pytest.raises(UsageError):  # one open dispute per death
        open_dispute(store, ssn_of(3), evidence=["again"])
    assert [c.case_id for c in list_cases(store, kind="dispute")] == [cid]
    result = decide(
        store,
        cid,
        "retract",
        reviewer="kim",
        reason="person appeared in person with proof of identity",
        evidence=["interview 2025-06-02"],
        now=NOW,
    )
    assert result.recipients == ["bank", "fed"]
    st = load_people(store, [3])[3]
    assert st.death is not None and st.death.status == "retracted"
    # the report stays, marked as not about this person
    rep = load_reports(store, ["fh/x3"])
    assert rep == {}  # no report was stored for this death: nothing to mark
    pending = pending_corrections(store, on=date(2025, 6, 2))
    assert {(c.recipient, c.person_id, c.change) for c in pending} == {
        ("bank", 3, "retracted"),
        ("fed", 3, "retracted"),
    }
    assert store.query("SELECT count(*) FROM corrections_queued WHERE person_id = 3")[0][0] == 2
    # the update files carry the delete; the person's accounting lists who was told
    extract_update(store, tmp_path / "fed.upd", recipient="fed", on=date(2025, 6, 3))
    extract_update(store, tmp_path / "bank.upd", recipient="bank", on=date(2025, 6, 3))
    told = {r["recipient"] for r in accounting(store, ssn_of(3)) if "deleted" in r["given"]}
    assert told == {"fed", "bank"}
    assert pending_corrections(store, on=date(2025, 6, 3)) == []
    c = get_case(store, cid)
    assert c.state == "closed" and c.history[0].evidence == (
        "passport seen at office 12",
        "interview 2025-06-02",
    )


def test_retraction_marks_the_reports_behind_the_death(store: Store) -> None:
    ingest_reports(store, [report("c", 6)])
    assert load_people(store, [6])[6].death is not None
    cid = open_dispute(store, ssn_of(6), evidence=["birth certificate"])
    decide(store, cid, "retract", reviewer="kim", reason="alive", finding="erroneous")
    rep = load_reports(store, ["fh/c"])["fh/c"]
    assert rep.status == "undone" and rep.reason.startswith("erroneous report")
    assert 6 in rep.vetoes
    # the same report sent again does not post the death again (the link is vetoed)
    ingest_reports(store, [report("c", 6)])
    st = load_people(store, [6])[6]
    assert st.death is not None and st.death.status == "retracted"


def test_uphold_closes_a_dispute_and_the_death_stays(store: Store) -> None:
    ingest_reports(store, [report("d", 7)])
    cid = open_dispute(store, ssn_of(7), evidence=["letter"])
    decide(store, cid, "note", reviewer="kim", reason="asked for documents")
    assert get_case(store, cid).state == "open"
    decide(store, cid, "uphold", reviewer="kim", reason="certificate confirmed")
    d = load_people(store, [7])[7].death
    assert d is not None and d.status == "current"
    assert [h.decision for h in get_case(store, cid).history] == ["note", "uphold"]


def test_overdue_owner_and_filters(store: Store) -> None:
    cid = open_dispute_on_new_death(store, 5)
    c = get_case(store, cid)
    assert list_cases(store, overdue=True, today=date.fromisoformat(c.due)) == []
    late = date.fromordinal(date.fromisoformat(c.due).toordinal() + 1)
    assert [x.case_id for x in list_cases(store, overdue=True, today=late)] == [cid]
    assert list_cases(store, kind="review") == []
    from vitalfile.cases.framework import assign

    assign(store, cid, "pat")
    assert get_case(store, cid).owner == "pat"
    with pytest.raises(UsageError):
        list_cases(store, kind="nonsense")
    with pytest.raises(NotFound):
        get_case(store, "nope")


def open_dispute_on_new_death(store: Store, pid: int) -> str:
    store.append(
        [
            DeathPosted(
                person_id=pid,
                dod="2025-01-01",
                proof="P",
                report_key=f"fh/n{pid}",
                source_kind="family",
            )
        ]
    )
    return open_dispute(store, ssn_of(pid), evidence=["x"], now=NOW)


def test_rebuild_equals_incremental(store: Store, tmp_path: Path) -> None:
    ingest_reports(store, [report("a", 1, flag="area 000 is never issued"), report("e", 2)])
    ingest_reports(store, [report("f", 4, flag="group 00 is never issued")])
    _deliver(store, tmp_path)
    decide(
        store, review_case_id("fh/a"), "link", reviewer="k", reason="r", person_id=1, override="o"
    )
    cid = open_dispute(store, ssn_of(2), evidence=["e"])
    decide(store, cid, "retract", reviewer="k", reason="alive")
    before = _tables(store)
    store.rebuild()
    assert _tables(store) == before


def test_cli_dispute_and_decide(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "cli.duckdb")
    with open_store(db) as s:
        s.append([person(1)])
        s.append(
            [
                DeathPosted(
                    person_id=1,
                    dod="2025-01-01",
                    proof="P",
                    report_key="fh/1",
                    source_kind="family",
                )
            ]
        )
    assert main(["--db", db, "dispute", "open", "--ssn", ssn_of(1), "--evidence", "id"]) == 0
    cid = capsys.readouterr().out.split()[1]
    assert main(["--db", db, "cases", "list", "--kind", "dispute"]) == 0
    assert cid in capsys.readouterr().out
    assert main(["--db", db, "cases", "show", cid]) == 0
    seen = int(capsys.readouterr().out.split("; version ")[1].split()[0])

    def decide_cli(decision: str, version: int, reviewer: str) -> int:
        return main(
            [
                "--db",
                db,
                "cases",
                "decide",
                cid,
                "--decision",
                decision,
                "--reason",
                "seen alive",
                "--reviewer",
                reviewer,
                "--version",
                str(version),
            ]
        )

    # a note by another reviewer since the case was read: nothing recorded (exit 2)
    assert decide_cli("note", seen, "lee") == 0
    capsys.readouterr()
    assert decide_cli("retract", seen, "kim") == 2
    assert "lee recorded 'note' on this case" in capsys.readouterr().err
    assert main(["--db", db, "cases", "show", cid]) == 0
    seen = int(capsys.readouterr().out.split("; version ")[1].split()[0])
    assert decide_cli("retract", seen, "kim") == 0
    assert "correction queued for 0 recipient(s)" in capsys.readouterr().out
    assert decide_cli("uphold", seen, "max") == 2  # the second to decide is told
    assert "kim recorded 'retract'" in capsys.readouterr().err
    assert main(["--db", db, "cases", "show", cid]) == 0
    assert "retract" in capsys.readouterr().out
    assert main(["--db", db, "cases", "show", "nope"]) == 3  # not found
    # the person is sent the retraction notice, with a one-time access code on it
    out = tmp_path / "notices"
    url = ["--url", "https://vitalfile.example.gov/"]
    assert main(["--db", db, "notice", "--ssn", ssn_of(1), "--out", str(out), *url]) == 0
    assert "one-time access code" in capsys.readouterr().out
    text = (out / "retraction-1.txt").read_text()
    assert "https://vitalfile.example.gov/console/my-record" in text
    assert (out / "retraction-1.pdf").read_bytes()[:5] == b"%PDF-"
    code = text.split("the access code ")[1].split()[0]
    from vitalfile.cases.access import open_with_code

    with open_store(db) as s:
        assert code not in "".join(se.event.to_json() for se in s.iter_events())
        assert open_with_code(s, code, ssn_of(1)) == 1
    assert main(["--db", db, "notice", "--ssn", ssn_of(9), "--out", str(out)]) == 2
    assert main(["--db", db, "notice", "--out", str(out)]) == 2
