"""The determinations register: holds, notice, the 30-day window, computer matching, who may
see it — and that it never reaches a death record, a DMF file or a verification answer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from tests.helpers import add_death_recipient, ssn_of
from vitalfile.cases.access import open_with_code
from vitalfile.cases.decide import decide
from vitalfile.cases.determinations import (
    HOLD_REASONS,
    DeterminationIn,
    get_determination,
    read_determinations,
    submit_determinations,
)
from vitalfile.cases.framework import get_case, list_cases
from vitalfile.cases.window import advance, contest, issue_notice, verify_match, write_notice
from vitalfile.cli import main
from vitalfile.db import open_store
from vitalfile.disclosure.determinations import determinations_for
from vitalfile.disclosure.distribute import extract_full, extract_update
from vitalfile.disclosure.verify import match_batch, verify_online
from vitalfile.errors import ConfigError, NotFound, Refused, UsageError
from vitalfile.events import DeathPosted, PersonRegistered, ReportReceived
from vitalfile.ledger.clock import mark_production
from vitalfile.ledger.store import Store
from vitalfile.link.base import LinkResult
from vitalfile.master.projection import load_people

DAY0 = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
AUTH = "42 USC 1320a-7"


PEOPLE = {  # pid: (last name, dob)
    1: ("JONES", "1970-05-06"),
    2: ("BROWN", "2010-01-01"),  # a minor
    3: ("GREEN", "1980-02-03"),
    4: ("WHITE", "1955-07-08"),  # has a death on file
    5: ("BLACK", "1990-09-09"),
}


def item(pid: int, **kw: str) -> DeterminationIn:
    last, dob = PEOPLE[pid]
    fields = {
        "ssn": ssn_of(pid),
        "kind": "benefit_ineligible",
        "authority": AUTH,
        "effective_date": "2025-07-01",
        "evidence_ref": f"case-{pid}",
        "first_name": "PAT",
        "last_name": last,
        "dob": dob,
    }
    fields.update(kw)
    return DeterminationIn(**fields)  # type: ignore[arg-type]


class Clock:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.mp = monkeypatch

    def set(self, day: date) -> None:
        self.mp.setenv("VITALFILE_TEST_CLOCK", day.isoformat())


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The test clock (VITALFILE_TEST_CLOCK): tests move it; the real clock moves nothing."""
    c = Clock(monkeypatch)
    c.set(DAY0.date())
    return c


def notify(store: Store, did: str) -> str:
    """Issue the notice today (by the clock): mailed to the subject's address."""
    return issue_notice(
        store, did, method="mail", sent_to="1 MAIN ST, TOWN OH 43001", issued_by="clerk-lee"
    ).contest_by


@pytest.fixture
def store(store: Store) -> Store:
    """The shared fixture's store (DuckDB and PostgreSQL), with this file's people."""
    s = store
    s.append(
        [
            PersonRegistered(person_id=p, ssn=ssn_of(p), first_name="PAT", last_name=last, dob=dob)
            for p, (last, dob) in PEOPLE.items()
        ]
    )
    s.append(
        [
            DeathPosted(
                person_id=4, dod="2024-01-01", proof="V", report_key="st/4", source_kind="state"
            )
        ]
    )
    return s


def test_each_person_checked_alone_holds_by_reason(store: Store) -> None:
    r = submit_determinations(
        store,
        [
            item(1),
            item(2),  # minor
            item(3, last_name="GREENE", dob="1980-03-02"),  # SSN on file, rest differs
            item(4),  # dead
            item(5, authority=""),  # no authority
            item(1, ssn="987650001"),  # nobody on file
        ],
        agency="SSA-OIG",
        now=DAY0,
    )
    assert (r.submitted, r.proposed, r.held, r.notices) == (6, 1, 5, 0)
    assert r.holds_by_reason == {
        HOLD_REASONS["minor"]: 1,
        HOLD_REASONS["weak_match"]: 1,
        HOLD_REASONS["dead"]: 1,
        HOLD_REASONS["authority"]: 1,
        HOLD_REASONS["no_match"]: 1,
    }
    held = [d for d in r.ids if get_determination(store, d).state == "held"]
    assert len(held) == 5
    # every held determination is a case for a reviewer, never proposed
    assert {c.about for c in list_cases(store, kind="determination")} == set(held)
    # sending the same submission again records nothing new
    again = submit_determinations(store, [item(1)], agency="SSA-OIG", now=DAY0)
    assert (again.submitted, again.duplicates) == (0, 1)


def test_notice_window_then_in_effect(store: Store, tmp_path: Path, clock: Clock) -> None:
    did = submit_determinations(store, [item(1)], agency="SSA-OIG", now=DAY0).ids[0]
    assert get_determination(store, did).state == "proposed"  # no notice sent yet
    with pytest.raises(NotFound):  # no notice: nothing to write
        write_notice(store, did, tmp_path / "none")
    clock.set(date(2025, 6, 9))  # sent a week later: the window counts from the notice
    with pytest.raises(UsageError):
        issue_notice(store, did, method="pigeon", sent_to="x", issued_by="lee")
    with pytest.raises(UsageError):
        issue_notice(store, did, method="mail", sent_to=" ", issued_by="lee")
    assert notify(store, did) == "2025-07-09"
    d = get_determination(store, did)
    assert d.state == "notice_issued" and d.notice_issued_on == "2025-06-09"
    row = store.query("SELECT method, sent_to, issued_by FROM determination_notices")
    assert row == [("mail", "1 MAIN ST, TOWN OH 43001", "clerk-lee")]
    with pytest.raises(UsageError):  # once
        notify(store, did)
    txt, pdf = write_notice(store, did, tmp_path / "notices")
    text = txt.read_text()
    assert AUTH in text and "HOW TO CONTEST" in text and "2025-07-09" in text
    assert "NOT a record of death" in text
    assert pdf.read_bytes().startswith(b"%PDF")
    clock.set(date(2025, 7, 9))
    assert advance(store) == []  # the last day to contest
    assert get_determination(store, did).state == "notice_issued"
    clock.set(date(2025, 7, 10))
    assert advance(store) == [did]
    d = get_determination(store, did)
    assert d.state == "in_effect" and d.in_effect_on == "2025-07-10"


def test_contest_in_time_and_withdrawn(store: Store, clock: Clock) -> None:
    did = submit_determinations(store, [item(1)], agency="SSA-OIG", now=DAY0).ids[0]
    with pytest.raises(UsageError):  # no notice yet: nothing to contest
        contest(store, did, ground="early")
    notify(store, did)
    clock.set(DAY0.date() + timedelta(days=31))
    with pytest.raises(UsageError):
        contest(store, did, ground="too late")
    clock.set(DAY0.date())
    cid = contest(store, did, ground="I was employed", evidence=["payslips"])
    assert get_determination(store, did).state == "contested"
    clock.set(date(2025, 8, 1))
    assert advance(store) == []  # a contest stops it: it waits for its case
    decide(store, cid, "withdraw", reviewer="kim", reason="payslips prove eligibility")
    d = get_determination(store, did)
    assert d.state == "withdrawn" and d.closed_reason.startswith("contest succeeded")
    assert get_case(store, cid).state == "closed"


def test_contest_rejected_then_in_effect_after_window(store: Store, clock: Clock) -> None:
    did = submit_determinations(store, [item(1)], agency="SSA-OIG", now=DAY0).ids[0]
    notify(store, did)
    clock.set(DAY0.date() + timedelta(days=3))
    cid = contest(store, did, ground="not me")
    decide(store, cid, "uphold", reviewer="kim", reason="identity confirmed")
    assert get_determination(store, did).state == "notice_issued"
    clock.set(date(2025, 7, 3))
    assert advance(store) == [did]


def test_held_determination_proposed_by_a_reviewer(store: Store) -> None:
    did = submit_determinations(store, [item(5, authority="")], agency="A", now=DAY0).ids[0]
    with pytest.raises(UsageError):  # no authority: cannot be proposed
        decide(store, f"D/{did}", "propose", reviewer="kim", reason="ok")
    did2 = submit_determinations(store, [item(2)], agency="A", now=DAY0).ids[0]
    decide(store, f"D/{did2}", "propose", reviewer="kim", reason="age confirmed 18 on date")
    assert get_determination(store, did2).state == "proposed"
    notify(store, did2)
    assert get_determination(store, did2).state == "notice_issued"
    decide(store, f"D/{did}", "withdraw", reviewer="kim", reason="no authority named")
    assert get_determination(store, did).state == "withdrawn"


def test_computer_match_stays_unverified_until_verified_and_noticed(
    store: Store, clock: Clock
) -> None:
    did = submit_determinations(
        store, [item(1)], agency="VA", origin="computer_match", now=DAY0
    ).ids[0]
    d = get_determination(store, did)
    assert d.state == "proposed" and not d.verified and d.notice_id == ""
    with pytest.raises(UsageError):  # unverified: no notice
        notify(store, did)
    clock.set(date(2026, 1, 1))
    assert advance(store) == []  # no action, however long it waits
    clock.set(DAY0.date() + timedelta(days=10))
    verify_match(store, did, verified_by="kim", method="wage records checked with employer")
    assert notify(store, did) == "2025-07-12"
    clock.set(date(2025, 7, 12))
    assert advance(store) == []
    clock.set(date(2025, 7, 13))
    assert advance(store) == [did]
    with pytest.raises(UsageError):
        verify_match(store, did, verified_by="kim", method="again")


def _recipients(store: Store) -> None:
    for name, tier, kinds in (
        ("agency-a", "federal", ["benefit_ineligible"]),
        ("agency-b", "federal", ["work_authorization_ended"]),
        ("bank", "certified", []),
    ):
        add_death_recipient(
            store, name, tier, purpose="benefit integrity", determination_kinds=kinds
        )


def test_shown_only_to_agreements_naming_the_kind_and_only_in_effect(
    store: Store, clock: Clock
) -> None:
    _recipients(store)
    did = submit_determinations(store, [item(1)], agency="SSA-OIG", now=DAY0).ids[0]
    notify(store, did)
    assert determinations_for(store, "agency-a", ssn_of(1), on=date(2025, 6, 10)) == []
    clock.set(date(2025, 7, 3))
    advance(store)
    shown = determinations_for(store, "agency-a", ssn_of(1), on=date(2025, 7, 3))
    assert [s["determination_id"] for s in shown] == [did]
    assert determinations_for(store, "agency-b", ssn_of(1), on=date(2025, 7, 3)) == []
    with pytest.raises(Refused):
        determinations_for(store, "bank", ssn_of(1), on=date(2025, 7, 3))
    with pytest.raises(Refused):
        determinations_for(store, "stranger", ssn_of(1), on=date(2025, 7, 3))
    from vitalfile.disclosure.accounting import accounting

    rows = accounting(store, ssn_of(1))
    assert any(r["channel"] == "determination" and r["recipient"] == "agency-a" for r in rows)
    assert any(r["kind"] == "refusal" and r["recipient"] == "bank" for r in rows)


def _deaths(store: Store) -> list[tuple[object, ...]]:
    return sorted(store.query("SELECT * FROM deaths")) + sorted(
        store.query("SELECT * FROM death_versions")
    )


def test_never_in_a_death_record_file_or_verification_answer(
    store: Store, tmp_path: Path, clock: Clock
) -> None:
    _recipients(store)
    deaths_before = _deaths(store)
    files_before = {}
    for fmt in ("dmf", "csv", "parquet"):
        p = tmp_path / f"before.{fmt}"
        extract_full(store, p, recipient="agency-a", fmt=fmt, on=date(2025, 7, 3), record=False)
        files_before[fmt] = p.read_bytes()
    extract_full(store, tmp_path / "base.dmf", recipient="agency-a", on=date(2025, 6, 1))
    cust = tmp_path / "cust.csv"
    cust.write_text(
        "customer_id,ssn,first_name,last_name,dob\n"
        f"c1,{ssn_of(1)},PAT,JONES,1970-05-06\nc4,{ssn_of(4)},PAT,WHITE,1955-07-08\n"
    )

    def answers() -> tuple[object, str]:
        online = [
            verify_online(
                store,
                "agency-a",
                ssn=ssn_of(p),
                last_name=PEOPLE[p][0],
                dob=PEOPLE[p][1],
                on=date(2025, 7, 3),
            )
            for p in (1, 4)
        ]
        out = tmp_path / "answers.csv"
        match_batch(store, "agency-a", cust, out, on=date(2025, 7, 3))
        return tuple((a.result, a.dod, a.proof) for a in online), out.read_text()

    answers_before = answers()
    ids = submit_determinations(store, [item(1), item(3), item(4)], agency="SSA-OIG", now=DAY0).ids
    for did in ids:
        if get_determination(store, did).state == "held":
            decide(store, f"D/{did}", "propose", reviewer="k", reason="checked", person_id=4)
        notify(store, did)
    clock.set(date(2025, 7, 3))
    advance(store)
    assert [get_determination(store, d).state for d in ids[:1]] == ["in_effect"]
    assert _deaths(store) == deaths_before
    assert load_people(store, [1])[1].death is None
    for fmt in ("dmf", "csv", "parquet"):
        p = tmp_path / f"after.{fmt}"
        extract_full(store, p, recipient="agency-a", fmt=fmt, on=date(2025, 7, 3), record=False)
        assert p.read_bytes() == files_before[fmt], fmt
        u = tmp_path / f"upd.{fmt}"
        r = extract_update(
            store, u, recipient="agency-a", fmt=fmt, on=date(2025, 7, 3), record=False
        )
        assert r.records == 0, fmt
    online, batch = answers()
    assert (online, batch) == answers_before
    assert "benefit" not in batch and AUTH not in batch


def test_bulk_file_read_and_cli(store: Store, tmp_path: Path, clock: Clock) -> None:
    f = tmp_path / "bulk.csv"
    f.write_text(
        "ssn,first_name,middle_name,last_name,dob,kind,authority,effective_date,evidence_ref\n"
        f"{ssn_of(1)},PAT,,JONES,1970-05-06,benefit_ineligible,{AUTH},2025-07-01,e1\n"
        f"{ssn_of(2)},PAT,,BROWN,2010-01-01,benefit_ineligible,{AUTH},2025-07-01,e2\n"
    )
    items, errors = read_determinations(f)
    assert len(items) == 2 and errors == []
    db = store.url
    store.close()
    assert main(["--db", db, "determination", "submit", str(f), "--agency", "SSA"]) == 0
    with open_store(db) as s:
        (did,) = (str(r[0]) for r in s.query("SELECT determination_id FROM determinations "
                                             "WHERE state = 'proposed'"))  # fmt: skip
    notice = ["determination", "issue-notice", did, "--method", "mail", "--by", "lee"]
    assert main(["--db", db, *notice, "--sent-to", "1 MAIN ST"]) == 0
    # printed to send, the notice carries a one-time access code; the record copy does not
    assert main(["--db", db, "determination", "notice", did, "--out", str(tmp_path / "n")]) == 0
    (sent,) = (tmp_path / "n").glob("N-*.txt")
    code = sent.read_text().split("the access code ")[1].split()[0]
    assert "HOW TO CONTEST" in sent.read_text() and sent.with_suffix(".pdf").exists()
    copy = ["determination", "notice", did, "--record-copy", "--out", str(tmp_path / "c")]
    assert main(["--db", db, *copy]) == 0
    assert "access code" not in next((tmp_path / "c").glob("N-*.txt")).read_text()
    with open_store(db) as s:
        assert open_with_code(s, code, ssn_of(1)) == get_determination(s, did).person_id
    # no command takes a date: the window is judged by the clock
    assert main(["--db", db, "determination", "advance", "--today", "2099-01-01"]) == 2
    assert main(["--db", db, "determination", "advance"]) == 0  # the clock: within the window
    with open_store(db) as s:
        assert s.query("SELECT state FROM determinations WHERE determination_id = ?", [did]) == [
            ("notice_issued",)
        ]
    clock.set(date(2025, 7, 3))
    assert main(["--db", db, "determination", "advance"]) == 0
    with open_store(db) as s:
        states = sorted(r[0] for r in s.query("SELECT state FROM determinations"))
        assert states == ["held", "in_effect"]
        before = (
            sorted(s.query("SELECT * FROM determinations")),
            sorted(s.query("SELECT * FROM determination_notices")),
        )
        s.rebuild()
        after = (
            sorted(s.query("SELECT * FROM determinations")),
            sorted(s.query("SELECT * FROM determination_notices")),
        )
        assert after == before


class _ModelLinker:
    """Stands in for the Splink linker: links every subject to person 1 with a probability."""

    version = "fake-model"

    def __init__(self, probability: float) -> None:
        self.probability = probability

    def link(self, store: Store, reports: Sequence[ReportReceived]) -> list[LinkResult]:
        return [
            LinkResult(r.report_key, "linked", person_id=1, probability=self.probability)
            for r in reports
        ]


def test_weak_identity_by_the_linkage_model_is_held(store: Store) -> None:
    weak = submit_determinations(store, [item(1)], agency="A", linker=_ModelLinker(0.98), now=DAY0)
    assert weak.holds_by_reason == {HOLD_REASONS["weak_match"]: 1}
    other_ssn = submit_determinations(
        store, [item(1, ssn=ssn_of(3))], agency="A", linker=_ModelLinker(0.9999), now=DAY0
    )
    assert other_ssn.holds_by_reason == {HOLD_REASONS["weak_match"]: 1}
    strong = submit_determinations(
        store, [item(1, evidence_ref="x")], agency="A", linker=_ModelLinker(0.9999), now=DAY0
    )
    assert strong.proposed == 1


def test_the_test_clock_is_refused_on_a_production_database(
    store: Store, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    did = submit_determinations(store, [item(1)], agency="SSA-OIG", now=DAY0).ids[0]
    assert mark_production(store, by="ops-kim") and not mark_production(store, by="again")
    clock.set(date(2099, 1, 1))
    with pytest.raises(ConfigError):
        notify(store, did)
    with pytest.raises(ConfigError):
        advance(store)
    db = store.url
    store.close()
    assert main(["--db", db, "determination", "advance"]) == 1  # one error line, nothing done
    with open_store(db) as s:
        assert get_determination(s, did).state == "proposed"
    monkeypatch.delenv("VITALFILE_TEST_CLOCK")
    with open_store(db) as s:
        notify(s, did)  # the real clock
        d = get_determination(s, did)
        real = datetime.now(UTC).date()
        assert d.notice_issued_on == real.isoformat()
        assert d.contest_by == (real + timedelta(days=30)).isoformat()
        assert advance(s) == []  # its window has not passed in real time
        assert get_determination(s, did).in_effect_on == ""
