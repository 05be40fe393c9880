"""Backups that restore (issue 17): `db backup` / `db restore` on DuckDB and PostgreSQL.

After a restore, `ledger verify --checkpoint` passes against the last checkpoint taken
before the backup; a later checkpoint is answered with how many commits the restore lacks;
a damaged backup is refused; on PostgreSQL a backup taken while another process appends
is consistent (its chain verifies and ends at a head that existed).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PG_URL
from vitalfile.cli import main
from vitalfile.db import open_store
from vitalfile.errors import ChainBroken, CheckpointMismatch, InputError, UsageError
from vitalfile.events import PersonRegistered
from vitalfile.ledger.backup import backup, restore
from vitalfile.ledger.checkpoint import init_key, load_private_key, make_checkpoint
from vitalfile.ledger.store import Store, utc_now_text
from vitalfile.ledger.verify import checkpoint_now, verify_ledger


def people(lo: int, hi: int) -> list[PersonRegistered]:
    return [
        PersonRegistered(person_id=i, ssn=f"{200000000 + i:09d}", last_name="DOE")
        for i in range(lo, hi)
    ]


@pytest.fixture
def target_url(request: pytest.FixtureRequest, store: Store, tmp_path: Path) -> Iterator[str]:
    """An empty database of the same backend as `store`."""
    if not store.url.startswith("postgresql"):
        yield str(tmp_path / "restored.duckdb")
        return
    from vitalfile.ledger.postgres import create_schema, drop_schema, with_schema

    schema = create_schema(PG_URL)
    try:
        yield with_schema(PG_URL, schema)
    finally:
        drop_schema(PG_URL, schema)


def test_backup_restores_and_verifies_against_the_checkpoint_before_it(
    store: Store, target_url: str, tmp_path: Path
) -> None:
    kp = tmp_path / "keeper.pem"
    init_key(kp)
    key = load_private_key(kp)
    for lo in range(1, 40, 10):
        store.append(people(lo, lo + 10))
    before = checkpoint_now(store, key)
    store.append(people(100, 105))  # after the checkpoint, before the backup
    result = backup(
        store, tmp_path / "bk", sign=lambda head: make_checkpoint(head, key, utc_now_text())
    )
    assert result.commits == 5 and result.events == 45 and result.checkpoint is not None
    manifest = json.loads((tmp_path / "bk" / "manifest.json").read_text())
    assert manifest["head"]["commit_no"] == 5 and manifest["events"] == 45
    store.append(people(200, 203))  # after the backup
    store.append(people(300, 301))
    later = checkpoint_now(store, key)

    with open_store(target_url) as target:
        restored = restore(tmp_path / "bk", target, later=later)
        assert restored.lacks == 2  # commits 6 and 7 were written after the backup
        assert restored.head is not None and restored.head.commit_no == 5
        report = verify_ledger(target, before, kp)
        assert report.ok, report.problems
        # projections rebuilt from the events
        assert target.query("SELECT count(*) FROM persons")[0][0] == 45
        with pytest.raises(UsageError):  # never over a ledger
            restore(tmp_path / "bk", target)
        # the later checkpoint is not extended: the ledger says so, it does not pass
        assert not verify_ledger(target, later, kp).ok


def test_a_damaged_backup_is_refused(store: Store, target_url: str, tmp_path: Path) -> None:
    store.append(people(1, 5))
    store.append(people(5, 9))
    backup(store, tmp_path / "bk")
    with pytest.raises(UsageError):
        backup(store, tmp_path / "bk")  # not over an earlier backup
    part = tmp_path / "bk" / "ledger_events-00000.parquet"
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0xFF
    part.write_bytes(bytes(data))
    with open_store(target_url) as target:
        with pytest.raises(InputError, match="damaged"):
            restore(tmp_path / "bk", target)
        assert target.head() is None  # nothing left behind
    with (
        open_store(str(tmp_path / "x.duckdb")) as empty,
        pytest.raises(InputError, match="not a vitalfile backup"),
    ):
        restore(tmp_path, empty)


def test_a_checkpoint_of_another_ledger_is_refused(
    store: Store, target_url: str, tmp_path: Path
) -> None:
    kp = tmp_path / "keeper.pem"
    init_key(kp)
    store.append(people(1, 5))
    backup(store, tmp_path / "bk")
    with open_store(str(tmp_path / "other.duckdb")) as other:
        other.append(people(50, 52))
        foreign = checkpoint_now(other, load_private_key(kp))
    with open_store(target_url) as target, pytest.raises(CheckpointMismatch):
        restore(tmp_path / "bk", target, later=foreign)


@pytest.mark.postgres
def test_a_backup_while_another_process_writes_is_consistent(pg_url: str, tmp_path: Path) -> None:
    from vitalfile.ledger.postgres import create_schema, drop_schema, with_schema

    with open_store(pg_url) as store:
        for lo in range(0, 2000, 500):
            store.append(people(lo, lo + 500))
    stop = threading.Event()
    written: list[int] = []

    def writer() -> None:
        with open_store(pg_url) as w:
            n = 10_000
            while not stop.is_set():
                w.append(people(n, n + 50))
                written.append(n)
                n += 50

    t = threading.Thread(target=writer)
    t.start()
    try:
        with open_store(pg_url) as store:
            result = backup(store, tmp_path / "bk", chunk=700)  # several event files
    finally:
        stop.set()
        t.join()
    assert written, "the writer appended nothing while the backup ran"
    schema = create_schema(PG_URL)
    try:
        with open_store(with_schema(PG_URL, schema)) as target:
            restored = restore(tmp_path / "bk", target)
            assert target.verify().ok
            assert restored.head == result.head and restored.events == result.events
    finally:
        drop_schema(PG_URL, schema)


def test_db_backup_and_restore_on_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, kp = str(tmp_path / "src.duckdb"), tmp_path / "keeper.pem"
    base = ["--db", db, "--key", str(kp)]
    with open_store(db) as store:
        store.append(people(1, 20))
    assert main([*base, "keys", "init"]) == 0
    cp = tmp_path / "before.json"
    assert main([*base, "ledger", "checkpoint", "--out", str(cp)]) == 0
    with open_store(db) as store:
        store.append(people(20, 30))
    assert main([*base, "db", "backup", "--out", str(tmp_path / "bk")]) == 0
    assert "signed (checkpoint.json)" in capsys.readouterr().out
    with open_store(db) as store:
        store.append(people(30, 31))
        store.append(people(31, 32))
        store.append(people(32, 33))
    later = tmp_path / "later"
    later.mkdir()
    assert main([*base, "ledger", "checkpoint", "--out", str(later)]) == 0
    capsys.readouterr()
    to = str(tmp_path / "restored.duckdb")
    args = ["db", "restore", str(tmp_path / "bk"), "--to", to, "--checkpoint", str(later)]
    assert main([*base, *args]) == 0
    out = capsys.readouterr().out
    assert "lacks 3 commit(s)" in out and "signed checkpoint verifies" in out
    restored = ["--db", to, "--key", str(kp)]
    assert main([*restored, "ledger", "verify", "--checkpoint", str(cp)]) == 0
    # a restore into a database that holds a ledger is refused, and says why
    assert main([*base, "db", "restore", str(tmp_path / "bk"), "--to", to]) != 0
    assert "empty" in capsys.readouterr().err


def test_restore_refuses_a_chain_that_does_not_end_at_the_head(
    store: Store, target_url: str, tmp_path: Path
) -> None:
    store.append(people(1, 5))
    store.append(people(5, 9))
    backup(store, tmp_path / "bk")
    manifest = tmp_path / "bk" / "manifest.json"
    doc = json.loads(manifest.read_text())
    doc["head"]["hash"] = "0" * 64
    manifest.write_text(json.dumps(doc))
    with open_store(target_url) as target, pytest.raises(ChainBroken):
        restore(tmp_path / "bk", target)
