"""The disclosure gate, tiers, deliveries, corrections, verification, monitoring, accounting."""

from __future__ import annotations

import csv
import tempfile
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import add_death_recipient, death, person, ssn_of
from vitalfile.db import open_store
from vitalfile.disclosure.accounting import accounting, my_record
from vitalfile.disclosure.distribute import extract_full, extract_update, pending_corrections
from vitalfile.disclosure.monitor import feed, register_monitor
from vitalfile.disclosure.policy import (
    VERIFY_FIELDS,
    add_agreement,
    add_recipient,
    allows,
    end_agreement,
)
from vitalfile.disclosure.verify import match_batch, verify_online
from vitalfile.errors import FileRejected, Refused
from vitalfile.events import (
    DeathCorroborated,
    DeathRetracted,
    DeathUpdated,
    Event,
    PersonRegistered,
)
from vitalfile.ledger.checkpoint import read_checkpoint
from vitalfile.ledger.store import Store

ON = date(2025, 6, 1)
TIERS = {
    "fed": "federal",
    "bank": "certified",
    "pub": "public",
    "bank2": "certified",
    "fed2": "federal",
}


def setup_recipients(store: Store, names: dict[str, str] = TIERS) -> None:
    for name, tier in names.items():
        add_death_recipient(store, name, tier)


def dmf_ssns(path: Path) -> dict[str, str]:
    """SSN -> action letter (' ' in full files) of a DMF file."""
    return {line[1:10]: line[0] for line in path.read_text().splitlines()}


# ── tiers: no extract ever holds a record its recipient may not have ─────────────────
_deaths = st.lists(
    st.tuples(
        st.dates(date(1990, 1, 1), date(2025, 12, 31)),
        st.sampled_from(["state", "funeral_home", "family", "financial"]),
        st.booleans(),  # corroborated by a non-state source
        st.booleans(),  # retracted
        st.sampled_from(["day", "month", "year"]),  # precision
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(deaths=_deaths, on=st.dates(date(2024, 1, 1), date(2029, 12, 31)))
def test_no_extract_holds_a_record_its_tier_excludes(deaths, on) -> None:
    with tempfile.TemporaryDirectory() as d:
        store = open_store(str(Path(d) / "h.duckdb"))
        try:
            setup_recipients(store, {"fed": "federal", "bank": "certified", "pub": "public"})
            truth: dict[str, tuple[bool, bool, str]] = {}
            events: list[Event] = []  # one commit: the file as it stands, however it came
            for pid, (dd, kind, corro, retracted, prec) in enumerate(deaths, start=1):
                dod = dd.isoformat()
                dod = {"day": dod, "month": dod[:8] + "00", "year": dod[:5] + "00-00"}[prec]
                events += [person(pid), death(pid, dod, kind)]
                if corro:
                    events.append(
                        DeathCorroborated(
                            person_id=pid, report_key=f"c/{pid}", source_kind="family"
                        )
                    )
                if retracted:
                    events.append(DeathRetracted(person_id=pid, reason="alive"))
                state_only = kind == "state" and not corro
                truth[ssn_of(pid)] = (not retracted, state_only, dod)
            store.append(events)
            for rec, tier in (("fed", "federal"), ("bank", "certified"), ("pub", "public")):
                out = Path(d) / f"{rec}.dmf"
                extract_full(store, out, recipient=rec, on=on)
                got = set(dmf_ssns(out))
                want = {
                    s
                    for s, (cur, so, dod) in truth.items()
                    if allows(
                        tier,
                        on.isoformat(),
                        status="current" if cur else "retracted",
                        state_only=so,
                        dod=dod,
                    )
                }
                assert got == want
                for s in got:  # the rule itself, restated
                    cur, so, dod = truth[s]
                    assert cur
                    assert tier == "federal" or not so
                    if tier == "public":
                        y, m, dd_ = dod[:4], dod[5:7], dod[8:10]
                        latest = f"{y}-{'12' if m == '00' else m}-{'31' if dd_ == '00' else dd_}"
                        assert latest <= on.replace(
                            year=on.year - 3, day=min(on.day, 28)
                        ).isoformat() or (on.month == 2 and on.day == 29)
            snapshot = store.query("SELECT * FROM delivered ORDER BY seq, person_id")
            store.rebuild()
            assert store.query("SELECT * FROM delivered ORDER BY seq, person_id") == snapshot
        finally:
            store.close()


# ── corrections reach exactly the recipients that received the record ──────────────────
def test_five_recipients_retract_two_deaths(store: Store, tmp_path: Path) -> None:
    setup_recipients(store)
    store.append([person(1), death(1, "2010-05-05", "state")])  # state only: federal only
    store.append([person(2), death(2, "2024-05-05")])  # recent: not public
    store.append([person(3), death(3, "2000-05-05")])  # old: everyone
    store.append([person(4), death(4, "2001-01-01")])
    held: dict[str, set[str]] = {}
    for rec in TIERS:
        out = tmp_path / f"{rec}.full"
        extract_full(store, out, recipient=rec, on=ON)
        held[rec] = set(dmf_ssns(out))
    assert held["fed"] == held["fed2"] == {ssn_of(i) for i in (1, 2, 3, 4)}
    assert held["bank"] == held["bank2"] == {ssn_of(i) for i in (2, 3, 4)}
    assert held["pub"] == {ssn_of(i) for i in (3, 4)}
    store.append([DeathRetracted(person_id=1, reason="alive")])
    store.append([DeathRetracted(person_id=2, reason="alive")])
    pending = {(c.recipient, c.person_id, c.change) for c in pending_corrections(store)}
    assert pending == {
        ("fed", 1, "retracted"),
        ("fed2", 1, "retracted"),
        ("fed", 2, "retracted"),
        ("fed2", 2, "retracted"),
        ("bank", 2, "retracted"),
        ("bank2", 2, "retracted"),
    }
    for rec in TIERS:
        out = tmp_path / f"{rec}.upd"
        extract_update(store, out, recipient=rec, on=ON)
        got = dmf_ssns(out)
        want = {ssn_of(p): "D" for (r, p, _) in pending if r == rec}
        assert got == want, rec
    assert pending_corrections(store) == []
    snapshot = store.query("SELECT * FROM delivered ORDER BY seq, person_id")
    store.rebuild()
    assert store.query("SELECT * FROM delivered ORDER BY seq, person_id") == snapshot


def test_update_file_adds_changes_deletes(store: Store, tmp_path: Path) -> None:
    setup_recipients(store, {"bank": "certified"})
    store.append([person(1), death(1, "2010-01-01"), person(2), death(2, "2011-01-01")])
    store.append([person(3), death(3, "2012-01-01", "state")])
    extract_full(store, tmp_path / "f", recipient="bank", on=ON)
    store.append([DeathUpdated(person_id=1, dod="2010-01-02", proof="V", reason="fix")])
    store.append([DeathRetracted(person_id=2, reason="alive")])
    store.append([person(4), death(4, "2013-01-01")])
    # a state-only death becomes available when another source confirms it
    store.append([DeathCorroborated(person_id=3, report_key="x", source_kind="family")])
    r = extract_update(store, tmp_path / "u", recipient="bank", on=ON)
    assert dmf_ssns(tmp_path / "u") == {
        ssn_of(1): "C",
        ssn_of(2): "D",
        ssn_of(3): "A",
        ssn_of(4): "A",
    }
    assert (r.adds, r.changes, r.deletes) == (2, 1, 1)
    line = next(x for x in (tmp_path / "u").read_text().splitlines() if x[1:10] == ssn_of(1))
    assert line[65:73] == "01022010"
    r2 = extract_update(store, tmp_path / "u2", recipient="bank", on=ON)
    assert r2.records == 0
    # csv and parquet carry the same records
    extract_full(store, tmp_path / "f.csv", recipient="bank", fmt="csv", on=ON)
    with (tmp_path / "f.csv").open() as fh:
        assert {row["ssn"] for row in csv.DictReader(fh)} == {ssn_of(i) for i in (1, 3, 4)}
    import pyarrow.parquet as pq

    extract_full(store, tmp_path / "f.parquet", recipient="bank", fmt="parquet", on=ON)
    assert sorted(pq.read_table(tmp_path / "f.parquet").column("ssn").to_pylist()) == [
        ssn_of(i) for i in (1, 3, 4)
    ]


def test_files_carry_a_signed_checkpoint(store: Store, tmp_path: Path) -> None:
    setup_recipients(store, {"bank": "certified"})
    store.append([person(1), death(1, "2010-01-01")])
    key = Ed25519PrivateKey.generate()
    r = extract_full(store, tmp_path / "f.dmf", recipient="bank", on=ON, key=key)
    assert r.checkpoint is not None
    cp = read_checkpoint(r.checkpoint)
    head = store.head()
    assert head is not None and cp.commit_no == head.commit_no and cp.hash == head.hash


# ── refusals ──────────────────────────────────────────────────────────────────────────
def refusals(store: Store) -> list[tuple[str, str]]:
    return [
        (str(r[0]), str(r[1]))
        for r in store.query(
            "SELECT recipient, given FROM disclosures WHERE kind = 'refusal' ORDER BY seq"
        )
    ]


def test_refusals_are_recorded_and_disclose_nothing(store: Store, tmp_path: Path) -> None:
    store.append([person(1), death(1, "2010-01-01")])
    add_recipient(store, "bank", "certified")
    with pytest.raises(Refused) as e1:
        extract_full(store, tmp_path / "x", recipient="nobody", on=ON)
    with pytest.raises(Refused):
        extract_full(store, tmp_path / "x", recipient="bank", on=ON)  # no agreement
    add_agreement(
        store,
        "a1",
        "bank",
        purpose="p",
        authority="auth",
        fields=["dod"],
        start="2020-01-01",
        end="2030-01-01",
    )
    with pytest.raises(Refused) as e3:
        extract_full(store, tmp_path / "x", recipient="bank", on=ON)  # fields
    end_agreement(store, "a1", end="2024-12-31", reason="lapsed")
    with pytest.raises(Refused) as e4:
        verify_online(store, "bank", ssn=ssn_of(1), last_name="SMITH", dob="1950-01-02", on=ON)
    assert not (tmp_path / "x").exists()
    assert store.query("SELECT count(*) FROM deliveries")[0][0] == 0
    assert store.query("SELECT count(*) FROM disclosures WHERE kind = 'disclosure'")[0][0] == 0
    got = refusals(store)
    assert [r for r, _ in got] == ["nobody", "bank", "bank", "bank"]
    assert "unknown recipient" in got[0][1] and "not in force" in got[3][1]
    assert "fields not in the agreement" in got[2][1]
    for e in (e1, e3, e4):  # no personal data in errors
        text = str(e.value)
        assert ssn_of(1) not in text and "SMITH" not in text
    # the refused files (about everyone on file then) and the refused verification are in
    # the person's accounting; the unknown recipient's is not
    acc = accounting(store, ssn_of(1))
    assert [(a["kind"], a["channel"], a["recipient"]) for a in acc] == [
        ("refusal", "file", "bank"),
        ("refusal", "file", "bank"),
        ("refusal", "verify", "bank"),
    ]


# ── online verification and batch matching ───────────────────────────────────────────
def test_online_verification(store: Store) -> None:
    setup_recipients(store, {"bank": "certified", "fed": "federal"})
    store.append([person(1), death(1, "2010-01-01")])
    store.append([person(2), death(2, "2010-01-01", "state")])
    store.append([person(3)])
    a = verify_online(store, "bank", ssn=ssn_of(1), last_name="smith", dob="1950-01-02", on=ON)
    assert (a.result, a.dod, a.proof) == ("death", "2010-01-01", "P")
    assert (
        verify_online(
            store, "bank", ssn=ssn_of(1), last_name="JONES", dob="1950-01-02", on=ON
        ).result
        == "no_death"
    )
    assert (
        verify_online(
            store, "bank", ssn=ssn_of(2), last_name="SMITH", dob="1950-01-02", on=ON
        ).result
        == "no_death"
    )
    assert (
        verify_online(
            store, "fed", ssn=ssn_of(2), last_name="SMITH", dob="1950-01-02", on=ON
        ).result
        == "death"
    )
    assert (
        verify_online(
            store, "bank", ssn=ssn_of(3), last_name="SMITH", dob="1950-01-02", on=ON
        ).result
        == "no_death"
    )
    acc = accounting(store, ssn_of(1))
    assert len(acc) == 1 and acc[0]["given"].startswith("death on file 2010-01-01")
    assert acc[0]["purpose"] == "fraud prevention" and acc[0]["authority"] == "42 USC 1306c"


def _customers(path: Path, rows: list[tuple[str, str, str, str, str]]) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["customer_id", "ssn", "first_name", "last_name", "dob"])
        w.writerows(rows)
    return path


def test_batch_match_classes(store: Store, tmp_path: Path) -> None:
    setup_recipients(store, {"bank": "certified"})
    store.append([person(1), death(1, "2010-01-01")])
    store.append([person(2), death(2, "2011-01-01")])
    store.append([person(3)])
    # two people sharing an SSN and identity: multiple candidates
    store.append(
        [
            PersonRegistered(
                person_id=10, ssn=ssn_of(9), first_name="BO", last_name="LEE", dob="1960-01-01"
            ),
            PersonRegistered(
                person_id=11, ssn=ssn_of(9), first_name="BO", last_name="LEE", dob="1960-01-01"
            ),
        ]
    )
    miskeyed = "213000002"  # two neighbouring digits swapped
    path = _customers(
        tmp_path / "c.csv",
        [
            ("c1", ssn_of(1), "Ann", "Smith", "1950-01-02"),  # matched, death
            ("c2", miskeyed, "Ann", "Smith", "1950-01-02"),  # matched via mis-keyed SSN
            ("c3", ssn_of(3), "Ann", "Smith", "1950-01-02"),  # matched, alive
            ("c4", ssn_of(9), "Bo", "Lee", "1960-01-01"),  # multiple candidates
            ("c5", ssn_of(1), "Ann", "Smith", "1951-03-04"),  # same SSN + names, other dob
            ("c6", "111-22-3333", "Zed", "Nobody", "1970-01-01"),  # no match
        ],
    )
    r = match_batch(store, "bank", path, tmp_path / "out.csv", on=ON)
    with (tmp_path / "out.csv").open() as fh:
        rows = {row["customer_id"]: row for row in csv.DictReader(fh)}
    assert {k: v["result"] for k, v in rows.items()} == {
        "c1": "matched",
        "c2": "matched",
        "c3": "matched",
        "c4": "multiple_candidates",
        "c5": "pending_review",
        "c6": "no_match",
    }
    assert rows["c1"]["death"] == "Y" and rows["c1"]["dod"] == "2010-01-01"
    assert rows["c2"]["death"] == "Y" and rows["c2"]["basis"] == "miskeyed"
    assert rows["c3"]["death"] == "N"
    for k in ("c4", "c5", "c6"):
        assert rows[k]["death"] == "" and rows[k]["dod"] == ""
    assert r.counts["matched"] == 3 and r.deaths_given == 2
    assert [a["channel"] for a in accounting(store, ssn_of(1))] == ["match"]


def test_malformed_batch_refused_whole(store: Store, tmp_path: Path) -> None:
    setup_recipients(store, {"bank": "certified"})
    store.append([person(1), death(1, "2010-01-01")])
    path = _customers(
        tmp_path / "bad.csv",
        [
            ("c1", ssn_of(1), "Ann", "Smith", "1950-01-02"),
            ("c2", "12-34", "Ann", "Smith", "1950-01-02"),
            ("c3", ssn_of(1), "Ann", "Smith", "1950-13-02"),
        ],
    )
    with pytest.raises(FileRejected) as exc:
        match_batch(store, "bank", path, tmp_path / "out.csv", on=ON)
    assert [(p.line, p.field) for p in exc.value.problems] == [(3, "ssn"), (4, "dob")]
    assert "12-34" not in str(exc.value.to_dict())
    assert not (tmp_path / "out.csv").exists()
    assert store.query("SELECT count(*) FROM disclosures")[0][0] == 0


# ── monitoring ────────────────────────────────────────────────────────────────────────
def test_monitoring_feed(store: Store, tmp_path: Path) -> None:
    setup_recipients(store, {"bank": "certified", "fed": "federal"})
    store.append([person(1), person(2), person(3)])
    rows = [
        ("c1", ssn_of(1), "Ann", "Smith", "1950-01-02"),
        ("c2", ssn_of(2), "Ann", "Smith", "1950-01-02"),
    ]
    register_monitor(store, "bank", _customers(tmp_path / "m.csv", rows), on=ON)
    register_monitor(store, "fed", _customers(tmp_path / "m2.csv", rows), on=ON)
    store.append([death(1, "2025-01-01")])
    store.append([death(2, "2025-01-01", "state")])  # state only: not for the bank
    store.append([death(3, "2025-01-01")])  # not watched
    store.append([DeathRetracted(person_id=1, reason="alive")])
    key = Ed25519PrivateKey.generate()
    page = feed(store, "bank", on=ON, key=key)
    assert [(n["customer_id"], n["change"]) for n in page.notices] == [
        ("c1", "posted"),
        ("c1", "retracted"),
    ]
    assert page.checkpoint is not None
    fed = feed(store, "fed", on=ON)
    assert [(n["customer_id"], n["change"]) for n in fed.notices] == [
        ("c1", "posted"),
        ("c2", "posted"),
        ("c1", "retracted"),
    ]
    # a state death confirmed by another source now reaches the bank
    store.append([DeathCorroborated(person_id=2, report_key="k", source_kind="family")])
    again = feed(store, "bank", since=page.next_since, on=ON)
    assert [(n["customer_id"], n["change"]) for n in again.notices] == [("c2", "posted")]
    snapshot = store.query("SELECT * FROM feed_notices ORDER BY seq, recipient")
    store.rebuild()
    assert store.query("SELECT * FROM feed_notices ORDER BY seq, recipient") == snapshot


# ── accounting and a person's own record ─────────────────────────────────────────────
def test_accounting_and_my_record_as_of(store: Store, tmp_path: Path) -> None:
    setup_recipients(store, {"bank": "certified", "fed": "federal"})
    store.append([person(1), death(1, "2010-01-01")])
    extract_full(store, tmp_path / "f", recipient="bank", on=ON)
    head = store.head()
    assert head is not None
    before = head.last_seq
    verify_online(store, "fed", ssn=ssn_of(1), last_name="SMITH", dob="1950-01-02", on=ON)
    store.append([DeathRetracted(person_id=1, reason="alive")])
    extract_update(store, tmp_path / "u", recipient="bank", on=ON)
    acc = accounting(store, ssn_of(1))
    assert [(a["recipient"], a["channel"]) for a in acc] == [
        ("bank", "file"),
        ("fed", "verify"),
        ("bank", "file"),
    ]
    assert "deleted" in acc[2]["given"] and acc[0]["authority"] == "42 USC 1306c"
    assert len(accounting(store, ssn_of(1), upto_seq=before)) == 1
    now = my_record(store, ssn_of(1))
    then = my_record(store, ssn_of(1), upto_seq=before)
    assert now[0]["death"]["status"] == "retracted"
    assert then[0]["death"]["status"] == "current"
    snapshot = store.query("SELECT * FROM disclosures ORDER BY seq, person_id")
    store.rebuild()
    assert store.query("SELECT * FROM disclosures ORDER BY seq, person_id") == snapshot
    assert VERIFY_FIELDS == ("dod", "proof")
