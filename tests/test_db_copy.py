"""`vitalfile db copy`: a ledger moved DuckDB → PostgreSQL → DuckDB keeps its chain head hash,
its commit times byte for byte, and rebuilds the same projections."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vitalfile.cli import main
from vitalfile.db import open_store
from vitalfile.disclosure.distribute import extract_full
from vitalfile.errors import ChainBroken, StateConflict
from vitalfile.events import DeathRetracted
from vitalfile.intake.people import load_people_file
from vitalfile.intake.reports import ingest_file
from vitalfile.ledger.copy import copy_ledger
from vitalfile.ledger.store import Store
from vitalfile.synth import write_synth

pytestmark = pytest.mark.postgres


def build_ledger(store: Store, tmp: Path) -> None:
    """A small file with every kind of projection row: people, reports, deaths, a delivery,
    a retraction."""
    write_synth(tmp / "synth", people=3000, months=2, seed=3)
    load_people_file(store, tmp / "synth" / "people.csv")
    ingest_file(
        store,
        tmp / "synth" / "reports.csv",
        source_kind="state",
        source_id="S",
        quarantine=True,
        rejects_path=tmp / "rejects.csv",
    )
    extract_full(
        store,
        tmp / "full.txt",
        purpose="the keeper's copy",
        authority="test",
        key=Ed25519PrivateKey.generate(),
    )
    dead = store.query("SELECT min(person_id) FROM deaths WHERE status = 'current'")[0][0]
    assert dead is not None
    store.append([DeathRetracted(person_id=int(dead), reason="seen alive")])


def tables(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every projection table's rows, in one order whatever the backend's collation."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    for p in store.projections:
        for t in p.tables():
            rows = [tuple(r.values()) for r in store.query_arrow(f"SELECT * FROM {t}").to_pylist()]
            out[t] = sorted(rows, key=repr)
    return out


def ledger(store: Store) -> list[tuple[Any, ...]]:
    return store.query(
        "SELECT commit_no, first_seq, n_events, committed_at, prev_hash, hash, note "
        "FROM ledger_commits ORDER BY commit_no"
    ) + store.query("SELECT seq, commit_no, type, subject, body FROM ledger_events ORDER BY seq")


def test_duckdb_to_postgres_to_duckdb(tmp_path: Path, pg_url: str) -> None:
    first, back = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    with open_store(str(first)) as a:
        build_ledger(a, tmp_path)
        head = a.head()
        want_tables, want_ledger = tables(a), ledger(a)
    assert head is not None
    assert sum(len(v) for v in want_tables.values()) > 100

    assert main(["db", "copy", "--from", str(first), "--to", pg_url]) == 0
    assert main(["db", "copy", "--from", pg_url, "--to", str(back)]) == 0

    for target in (pg_url, str(back)):
        with open_store(target) as s:
            report = s.verify()
            assert report.ok and report.head == head
            assert ledger(s) == want_ledger  # committed_at, hashes, bodies byte for byte
            assert tables(s) == want_tables


def test_copy_refuses_a_target_that_holds_a_ledger(tmp_path: Path, pg_url: str) -> None:
    with open_store(str(tmp_path / "a.duckdb")) as a, open_store(pg_url) as b:
        build_ledger(a, tmp_path)
        copy_ledger(a, b)
        with pytest.raises(StateConflict):
            copy_ledger(a, b)
        assert b.verify().ok


def test_copy_refuses_a_source_that_does_not_verify(tmp_path: Path, pg_url: str) -> None:
    with open_store(pg_url) as a, open_store(str(tmp_path / "b.duckdb")) as b:
        build_ledger(a, tmp_path)
        a.query("UPDATE ledger_events SET body = body || ' ' WHERE seq = 3")
        with pytest.raises(ChainBroken):
            copy_ledger(a, b)
        assert b.head() is None
