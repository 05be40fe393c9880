"""Ledger contract: append all-or-nothing, sequence and chain, tamper detection, checkpoints."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from vitalfile.db import open_store
from vitalfile.errors import AppendConflict, CheckpointMismatch, StorageError
from vitalfile.events import DeathPosted, DeathRetracted, PersonRegistered, decode
from vitalfile.ledger.chain import GENESIS
from vitalfile.ledger.checkpoint import init_key, load_private_key, make_checkpoint
from vitalfile.ledger.store import Store, utc_now_text
from vitalfile.ledger.verify import verify_ledger


def _people(start: int, n: int) -> list[PersonRegistered]:
    return [
        PersonRegistered(person_id=i, ssn=f"{100000000 + i:09d}", last_name="DOE", dob="1950-01-01")
        for i in range(start, start + n)
    ]


def _fill(store: Store) -> None:
    store.append(_people(1, 3), note="a")
    store.append(_people(4, 2), note="b")
    store.append(
        [
            DeathPosted(
                person_id=2, dod="2026-01-00", proof="V", report_key="TX/1", source_kind="state"
            )
        ]
    )
    store.append([DeathRetracted(person_id=2, reason="alive")])


def test_append_numbers_events_and_chains_commits(store: Store) -> None:
    _fill(store)
    commits = [store.commit_at("9999")]
    head = commits[0]
    assert head is not None and head.commit_no == 4 and head.last_seq == 7
    seqs = [se.seq for se in store.iter_events()]
    assert seqs == list(range(1, 8))
    report = store.verify()
    assert report.ok and report.commits == 4 and report.events == 7
    first = store.query("SELECT prev_hash FROM ledger_commits WHERE commit_no = 1")[0][0]
    assert first == GENESIS


def test_events_round_trip_through_storage(store: Store) -> None:
    events = _people(1, 2)
    store.append(events)
    assert [se.event for se in store.iter_events()] == events
    bodies = [r[0] for r in store.query("SELECT body FROM ledger_events ORDER BY seq")]
    assert [decode(b) for b in bodies] == events


def test_append_is_all_or_nothing(store: Store) -> None:
    store.append(_people(1, 2))
    before = store.head()
    with pytest.raises(RuntimeError), store.transaction():
        store.append(_people(3, 2))
        raise RuntimeError("crash between appends")
    assert store.head() == before
    assert store.query("SELECT count(*) FROM persons")[0][0] == 2
    assert store.query("SELECT count(*) FROM ledger_events")[0][0] == 2


def test_projection_failure_rolls_back_the_events(store: Store) -> None:
    store.append(_people(1, 1))
    # make the next projection write fail: a column the projection does not fill
    store.query("ALTER TABLE death_versions ADD COLUMN must_fill VARCHAR")
    store.query("UPDATE death_versions SET must_fill = 'x'")
    store.query("ALTER TABLE death_versions ALTER COLUMN must_fill SET NOT NULL")
    with pytest.raises(StorageError):
        store.append(
            [
                DeathPosted(
                    person_id=1, dod="2026-01-00", proof="V", report_key="TX/1", source_kind="state"
                )
            ]
        )
    assert store.query("SELECT count(*) FROM ledger_events")[0][0] == 1
    assert store.query("SELECT count(*) FROM deaths")[0][0] == 0
    assert store.verify().ok


def test_expected_head_guards_against_a_moved_chain(store: Store) -> None:
    store.append(_people(1, 1))
    with pytest.raises(AppendConflict):
        store.append(_people(2, 1), expected_head=0)
    store.append(_people(2, 1), expected_head=1)


def test_empty_append_makes_no_commit(store: Store) -> None:
    assert store.append([]) is None
    assert store.head() is None
    assert store.verify().ok


# ── tampering with the DuckDB file directly ───────────────────────────────────────────
TAMPER = {
    "alter": "UPDATE ledger_events SET body = replace(body, 'DOE', 'ROE') WHERE seq = 4",
    "delete": "DELETE FROM ledger_events WHERE seq = 4",
    "insert": "INSERT INTO ledger_events SELECT 5, 2, type, subject, body FROM ledger_events "
    "WHERE seq = 4",
    "reorder": "UPDATE ledger_events SET seq = CASE seq WHEN 4 THEN 5 ELSE 4 END "
    "WHERE seq IN (4, 5)",
    "remove_commit": "DELETE FROM ledger_commits WHERE commit_no = 2; "
    "DELETE FROM ledger_events WHERE commit_no = 2",
    "alter_commit_time": "UPDATE ledger_commits SET committed_at = '2000-01-01' "
    "WHERE commit_no = 2",
    "type_column": None,
}


@pytest.mark.parametrize("kind", [k for k, v in TAMPER.items() if v])
def test_verify_names_the_first_tampered_commit(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "t.duckdb"
    with open_store(str(path)) as store:
        _fill(store)
        assert store.verify().ok
    con = duckdb.connect(str(path))
    sql = TAMPER[kind]
    assert sql is not None
    con.execute(sql)
    con.close()
    with open_store(str(path)) as store:
        report = store.verify()
    assert not report.ok
    assert report.problems[0].startswith("commit 2"), report.problems


def test_checkpoint_catches_a_recomputed_chain(tmp_path: Path) -> None:
    path = tmp_path / "t.duckdb"
    key_path = tmp_path / "k.pem"
    init_key(key_path)
    with open_store(str(path)) as store:
        _fill(store)
        head = store.head()
        assert head is not None
        cp = make_checkpoint(head, load_private_key(key_path), utc_now_text())
        assert verify_ledger(store, cp, key_path).ok
    # rewrite an event, then recompute every hash from there on as a forger would
    con = duckdb.connect(str(path))
    con.execute("UPDATE ledger_events SET body = replace(body, 'DOE', 'ROE') WHERE seq = 2")
    con.close()
    with open_store(str(path)) as store:
        _recompute_chain(store)
        assert store.verify().ok  # the plain chain is fooled
        report = verify_ledger(store, cp, key_path)
        assert not report.ok
        assert "commit 4" in report.problems[0]


def test_checkpoint_signed_by_another_key_is_refused(tmp_path: Path) -> None:
    k1, k2 = tmp_path / "k1.pem", tmp_path / "k2.pem"
    init_key(k1)
    init_key(k2)
    with open_store(str(tmp_path / "t.duckdb")) as store:
        _fill(store)
        head = store.head()
        assert head is not None
        cp = make_checkpoint(head, load_private_key(k1), utc_now_text())
        with pytest.raises(CheckpointMismatch):
            verify_ledger(store, cp, k2)


def _recompute_chain(store: Store) -> None:
    import hashlib

    from vitalfile.ledger.chain import CommitHeader, commit_hash

    prev = GENESIS
    for no, first, n, at in store.query(
        "SELECT commit_no, first_seq, n_events, committed_at FROM ledger_commits ORDER BY 1"
    ):
        bodies = [
            r[0]
            for r in store.query(
                "SELECT body FROM ledger_events WHERE commit_no = ? ORDER BY seq", [no]
            )
        ]
        digest = hashlib.sha256("".join(bodies).encode()).hexdigest()
        h = commit_hash(CommitHeader(no, first, n, at, prev), digest)
        store.query(
            "UPDATE ledger_commits SET hash = ?, prev_hash = ? WHERE commit_no = ?", [h, prev, no]
        )
        prev = h


def test_a_version_1_person_event_still_reads() -> None:
    """Person events stored before former names existed read as having none."""
    from vitalfile.master.projection import PersonState, evolve_person

    old = (
        '{"type":"person.registered","v":1,"person_id":7,"ssn":"212345678","first_name":"ANN",'
        '"middle_name":"","last_name":"DOE","suffix":"","dob":"1950-00-00","sex":"F",'
        '"birth_state":"","address":"","city":"","state":"TX","zip":""}'
    )
    event = decode(old)
    assert event == PersonRegistered(
        person_id=7, ssn="212345678", first_name="ANN", last_name="DOE", dob="1950-00-00",
        sex="F", state="TX",
    )  # fmt: skip
    assert isinstance(event, PersonRegistered) and event.former_names == ""
    text = event.to_json()
    assert text.startswith('{"type":"person.registered","v":2,') and text.endswith(
        '"zip":"","former_names":""}'
    )
    assert decode(text) == event
    state = evolve_person(PersonState(7), 1, event)
    assert state.person is not None and state.person["former_names"] == ""
    again = decode(PersonRegistered(person_id=8, ssn="212345679", former_names="A;B").to_json())
    assert isinstance(again, PersonRegistered) and again.former_names == "A;B"
