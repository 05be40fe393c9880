"""The projections on each backend (the `store` fixture runs DuckDB and PostgreSQL): a file
built incrementally equals the same file rebuilt from its events alone, and both backends
agree on what the events say."""

from __future__ import annotations

from pathlib import Path

from tests.test_db_copy import build_ledger, tables
from vitalfile.db import open_store
from vitalfile.ledger.copy import copy_ledger
from vitalfile.ledger.store import Store
from vitalfile.master.projection import find_person_ids, status_of


def test_rebuild_equals_incremental(store: Store, tmp_path: Path) -> None:
    build_ledger(store, tmp_path)
    incremental = tables(store)
    assert incremental["deaths"] and incremental["reports"] and incremental["persons"]
    store.rebuild()
    assert tables(store) == incremental
    assert store.verify().ok


def test_backends_agree_on_the_same_events(store: Store, tmp_path: Path) -> None:
    build_ledger(store, tmp_path)
    with open_store(str(tmp_path / "other.duckdb")) as other:
        copy_ledger(store, other)
        assert tables(other) == tables(store)
        ssn = store.query("SELECT min(ssn) FROM persons")[0][0]
        ids = find_person_ids(store, ssn)
        assert ids == find_person_ids(other, ssn)
        head = store.head()
        assert head is not None
        for upto in (head.last_seq // 2, None):
            assert [status_of(store, i, upto_seq=upto) for i in ids] == [
                status_of(other, i, upto_seq=upto) for i in ids
            ]
