"""Tampering with the ledger on the PostgreSQL server directly, as the DuckDB tests do with
the file: `verify` names the first tampered commit; a signed checkpoint catches a forger who
recomputes every hash."""

from __future__ import annotations

import hashlib
from pathlib import Path

import psycopg
import pytest

from vitalfile.db import open_store
from vitalfile.events import DeathPosted, DeathRetracted, PersonRegistered
from vitalfile.ledger.chain import GENESIS, CommitHeader, commit_hash
from vitalfile.ledger.checkpoint import init_key, load_private_key, make_checkpoint
from vitalfile.ledger.postgres import to_pg_ddl, to_pg_sql
from vitalfile.ledger.store import Store, utc_now_text
from vitalfile.ledger.verify import verify_ledger

pytestmark = pytest.mark.postgres

# the server keeps seq unique; a forger who can rewrite the tables drops that first
_NO_PK = "ALTER TABLE ledger_events DROP CONSTRAINT ledger_events_pkey; "
TAMPER = {
    "alter": "UPDATE ledger_events SET body = replace(body, 'DOE', 'ROE') WHERE seq = 4",
    "delete": "DELETE FROM ledger_events WHERE seq = 4",
    "insert": _NO_PK + "INSERT INTO ledger_events SELECT 5, 2, type, subject, body "
    "FROM ledger_events WHERE seq = 4",
    "insert_later": _NO_PK + "INSERT INTO ledger_events SELECT 8, 2, type, subject, body "
    "FROM ledger_events WHERE seq = 4",
    "reorder": _NO_PK + "UPDATE ledger_events SET seq = CASE seq WHEN 4 THEN 5 ELSE 4 END "
    "WHERE seq IN (4, 5)",
    "swap_bodies": "UPDATE ledger_events e SET body = o.body FROM ledger_events o "
    "WHERE (e.seq, o.seq) IN ((4, 5), (5, 4))",
    "move_to_other_commit": "UPDATE ledger_events SET commit_no = 3 WHERE seq = 5",
    "remove_commit": "DELETE FROM ledger_commits WHERE commit_no = 2; "
    "DELETE FROM ledger_events WHERE commit_no = 2",
    "alter_commit_time": "UPDATE ledger_commits SET committed_at = '2000-01-01' "
    "WHERE commit_no = 2",
    "alter_commit_count": "UPDATE ledger_commits SET n_events = 1 WHERE commit_no = 2",
    "empty_commit": "UPDATE ledger_commits SET n_events = 0 WHERE commit_no = 2",
}


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


def _on_server(url: str, sql: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


@pytest.mark.parametrize("kind", list(TAMPER))
def test_verify_names_the_first_tampered_commit(pg_url: str, kind: str) -> None:
    with open_store(pg_url) as store:
        _fill(store)
        assert store.verify().ok
    _on_server(pg_url, TAMPER[kind])
    with open_store(pg_url) as store:
        report = store.verify()
    assert not report.ok
    assert report.problems[0].startswith("commit 2"), report.problems


def _recompute_chain(url: str) -> None:
    """What a forger with write access does: rewrite every hash from the genesis on."""
    with psycopg.connect(url, autocommit=True) as conn:
        prev = GENESIS
        commits = conn.execute(
            "SELECT commit_no, first_seq, n_events, committed_at FROM ledger_commits ORDER BY 1"
        ).fetchall()
        for no, first, n, at in commits:
            bodies = conn.execute(
                "SELECT body FROM ledger_events WHERE commit_no = %s ORDER BY seq", [no]
            ).fetchall()
            digest = hashlib.sha256("".join(b for (b,) in bodies).encode()).hexdigest()
            h = commit_hash(CommitHeader(no, first, n, at, prev), digest)
            conn.execute(
                "UPDATE ledger_commits SET hash = %s, prev_hash = %s WHERE commit_no = %s",
                [h, prev, no],
            )
            prev = h


def test_checkpoint_catches_a_recomputed_chain(pg_url: str, tmp_path: Path) -> None:
    key_path = tmp_path / "k.pem"
    init_key(key_path)
    with open_store(pg_url) as store:
        _fill(store)
        head = store.head()
        assert head is not None
        cp = make_checkpoint(head, load_private_key(key_path), utc_now_text())
        assert verify_ledger(store, cp, key_path).ok
    _on_server(pg_url, "UPDATE ledger_events SET body = replace(body, 'DOE', 'ROE') WHERE seq = 2")
    _recompute_chain(pg_url)
    with open_store(pg_url) as store:
        assert store.verify().ok  # the plain chain is fooled
        report = verify_ledger(store, cp, key_path)
    assert not report.ok
    assert "commit 4" in report.problems[0]


def test_placeholders_and_types_are_translated() -> None:
    assert to_pg_sql("SELECT ? , '?%' FROM t WHERE a LIKE 'x%' AND b = ?") == (
        "SELECT %s , '?%%' FROM t WHERE a LIKE 'x%%' AND b = %s"
    )
    assert to_pg_sql('SELECT "a?" -- why?\n, ?') == 'SELECT "a?" -- why?\n, %s'
    assert to_pg_ddl("x DOUBLE, y DOUBLE PRECISION, double_it VARCHAR") == (
        "x DOUBLE PRECISION, y DOUBLE PRECISION, double_it VARCHAR"
    )
