"""A projection a newer release adds is filled from the ledger when an older database is
opened: the new table reads as if it had been there from the first commit (both backends)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import BACKENDS
from tests.helpers import death, person
from vitalfile.db import open_store

MASTER = ("persons", "deaths", "death_versions", "reports")


def _rows(store, table: str) -> list[tuple]:
    return sorted(store.query(f"SELECT * FROM {table}"), key=repr)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_projection_missing_from_an_older_database_is_replayed_on_open(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = str(tmp_path / "old.duckdb") if backend == "duckdb" else request.getfixturevalue("pg_url")
    with open_store(url) as store:
        store.append([person(1), person(2), death(1, "2026-03-04", "state")])
        store.append([death(2, "2026-05-00", "family")])
        before = {t: _rows(store, t) for t in MASTER}
        head = store.head()
        assert before["deaths"]  # something to lose
        # an older release: the master's tables were never made (PostgreSQL: its schema
        # fingerprint says so too)
        with store.transaction() as tx:
            for t in MASTER:
                tx.execute(f"DROP TABLE {t}")
            if backend == "postgres":
                tx.execute("UPDATE vitalfile_schema SET fingerprint = 'older'")
    with open_store(url) as store:
        assert {t: _rows(store, t) for t in MASTER} == before
        assert store.head() == head  # filling a projection appends nothing
        assert store.verify().ok
