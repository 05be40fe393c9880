"""Several processes appending at once on PostgreSQL: the chain does not fork, no event is
lost, no sequence number is given twice."""

from __future__ import annotations

import multiprocessing as mp

import pytest

from vitalfile.db import open_store
from vitalfile.events import PersonRegistered

pytestmark = pytest.mark.postgres

WRITERS = 8
COMMITS = 25
EVENTS = 7


def _writer(url: str, w: int, start: mp.synchronize.Event) -> None:
    with open_store(url) as store:
        start.wait(30)
        for c in range(COMMITS):
            base = (w * COMMITS + c) * EVENTS
            store.append(
                [
                    PersonRegistered(
                        person_id=base + i + 1,
                        ssn=f"{100000000 + base + i:09d}",
                        last_name=f"W{w}",
                        dob="1950-01-01",
                    )
                    for i in range(EVENTS)
                ],
                note=f"writer {w} commit {c}",
            )


def test_eight_processes_append_at_once(pg_url: str) -> None:
    open_store(pg_url).close()  # tables made once, before the race
    ctx = mp.get_context("fork")  # the children start in the imported module: no re-import
    start = ctx.Event()
    procs = [ctx.Process(target=_writer, args=(pg_url, w, start)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(600)
    assert [p.exitcode for p in procs] == [0] * WRITERS

    n = WRITERS * COMMITS * EVENTS
    with open_store(pg_url) as store:
        report = store.verify()
        assert report.ok, report.problems
        assert report.commits == WRITERS * COMMITS and report.events == n
        seqs = [r[0] for r in store.query("SELECT seq FROM ledger_events ORDER BY seq")]
        assert seqs == list(range(1, n + 1))  # no gap, no duplicate
        subjects = store.query("SELECT count(DISTINCT subject) FROM ledger_events")[0][0]
        assert subjects == n  # no event lost, none written twice
        assert store.query("SELECT count(*) FROM persons")[0][0] == n
        # each commit holds one writer's events, and only those
        rows = store.query(
            "SELECT c.commit_no, c.note, e.body FROM ledger_commits c "
            "JOIN ledger_events e ON e.commit_no = c.commit_no ORDER BY e.seq"
        )
        for _, note, body in rows:
            assert f'"last_name":"W{note.split()[1]}"' in body
        assert len({no for no, _, _ in rows}) == WRITERS * COMMITS


def test_tables_are_made_once_when_processes_open_at_once(pg_url: str) -> None:
    ctx = mp.get_context("fork")  # the children start in the imported module: no re-import
    procs = [ctx.Process(target=_open, args=(pg_url,)) for _ in range(WRITERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(600)
    assert [p.exitcode for p in procs] == [0] * WRITERS


def _open(url: str) -> None:
    open_store(url).close()


def test_opening_a_made_database_waits_on_no_table_lock(pg_url: str) -> None:
    """A worker opening its store while a long write holds `persons` must not queue behind
    it (DDL there, even IF NOT EXISTS, would — and every reader behind the DDL)."""
    import threading

    with open_store(pg_url) as writer, writer.transaction():
        writer.reader().execute("LOCK TABLE persons IN ROW EXCLUSIVE MODE")
        opened: list[bool] = []
        t = threading.Thread(target=lambda: opened.append(bool(open_store(pg_url).close() or 1)))
        t.start()
        t.join(15)
        assert opened == [True], "opening the store waited on the writer's lock"


def test_a_schema_made_by_older_code_is_brought_up_to_date(pg_url: str) -> None:
    with open_store(pg_url) as s:
        s.reader().execute("UPDATE vitalfile_schema SET fingerprint = 'older'")
        s.reader().execute("DROP INDEX persons_ssn")
    with open_store(pg_url) as s:
        names = {
            r[0]
            for r in s.query("SELECT indexname FROM pg_indexes WHERE indexname = 'persons_ssn'")
        }
        assert names == {"persons_ssn"}
        assert s.query("SELECT fingerprint FROM vitalfile_schema")[0][0] != "older"
