"""Crashes survived (issue 17): a few SIGKILLs of real commands on each backend, then the
ledger verifies, no batch is half in, every answer a client got is kept once, and the command
run again finishes the work exactly once. `bench/crash.py` does the same a hundred times."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import pytest
from bench.crash import Bench

pytestmark = pytest.mark.slow


def bench_for(url: str, work: Path, benches: list[Bench]) -> Bench:
    args = argparse.Namespace(
        people=2000,
        reports=1500,
        new_people=3000,
        clients=2,
        serve_window=1.5,
        seed=7,
        commands="ingest,people,extract,serve",
        fork=True,  # commands forked from one process that imported vitalfile (crash_fork)
    )
    b = Bench(url, work, args)
    benches.append(b)
    b.setup(calibrate=False)
    b.calib = {"ingest": 6.0, "extract": 6.0, "people": 0.0}
    # killed inside its transaction, as it reports its events in and before it commits
    b.kill_points = {"people": ("vitalfile.cli.common:Bar.step", "after", "commit")}
    return b


@pytest.fixture
def benches() -> Iterator[list[Bench]]:
    """The benches a test made, their fork servers stopped after it."""
    made: list[Bench] = []
    yield made
    for b in made:
        b.r.close()


def check(b: Bench) -> None:
    t = b.t
    assert (t.verify_failed, t.lost, t.half, t.duplicated, t.rerun_failed) == (0, 0, 0, 0, 0), (
        t.notes
    )


def test_killed_commands_leave_whole_batches_and_finish_once(
    store_url: str, tmp_path: Path, benches: list[Bench]
) -> None:
    b = bench_for(store_url, tmp_path, benches)
    b.crash_people(1)
    b.crash_ingest(1)
    b.crash_extract(1)
    check(b)
    assert b.t.killed["people"] == 1  # a real kill, mid-commit, however loaded the machine


def test_killed_service_keeps_every_answer_it_gave(
    store_url: str, tmp_path: Path, benches: list[Bench]
) -> None:
    b = bench_for(store_url, tmp_path, benches)
    b.crash_serve(1)
    b.finish_serve()  # started again: it replays the killed workers' journals
    check(b)
    assert b.t.answers_received > 0


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "duckdb":
        return str(tmp_path / "crash.duckdb")
    return str(request.getfixturevalue("pg_url"))


def test_a_killed_workers_journal_is_replayed_at_the_next_start(tmp_path: Path) -> None:
    """A worker killed between writing answers ahead and committing them leaves segments
    (`<name>.1`, …) and no lock held: the next worker to start appends them, once."""
    from vitalfile.api.answers import AnswerJournal
    from vitalfile.db import open_store
    from vitalfile.events import PersonRegistered
    from vitalfile.ledger.journal import Journal

    url, folder = str(tmp_path / "j.duckdb"), tmp_path / "journals"
    store = open_store(url)
    dead = Journal(store, folder / "answers-1-dead.journal", inline_flush=False)
    for k in range(3):  # written ahead, never flushed: the process is "killed" here
        dead.record(PersonRegistered(person_id=k + 1, ssn=f"12300000{k + 1}", last_name="X"))
    dead.flush()  # the first batch committed: the journal's note says how far it got
    dead.record(PersonRegistered(person_id=4, ssn="123000004", last_name="X"))
    store.close()
    assert [p.name for p in folder.iterdir() if p.stat().st_size]  # segments left behind

    live = AnswerJournal(url, folder)
    try:
        rows = live.store.query("SELECT count(*), count(DISTINCT subject) FROM ledger_events")
        assert tuple(rows[0]) == (4, 4)  # the uncommitted answer appended, none twice
    finally:
        live.close()
    assert not list(folder.glob("answers-1-dead*"))


# a SIGKILL at each step of an extract: (the call it dies at, before or after it)
EXTRACTS = "vitalfile.disclosure.extracts:"
KILL_AT = {
    "written": ("_write", "after"),  # the file written aside, its delivery not committed
    "committed": ("write_sidecar", "before"),  # the delivery committed, nothing named yet
    "signed": ("publish_file", "before"),  # the sidecar written, the file not yet named
    "named": ("publish_file", "after"),  # all done, the process not yet gone
}


def test_an_extract_killed_at_any_step_leaves_no_file_or_a_recorded_one(
    store_url: str, tmp_path: Path, benches: list[Bench]
) -> None:
    """Killed while its file is written, after its delivery commits, after its sidecar is
    signed, or after the rename: the file is never under its name without its delivery and
    sidecar; run again, the command names the delivery it recorded (no second one), or makes
    the file afresh if none was recorded, and leaves no part behind."""
    b = bench_for(store_url, tmp_path, benches)
    b.r.run(*b.ingest_args(b.next_reports()))  # deaths on file: the extract has lines
    for step, (name, when) in KILL_AT.items():
        args = b.extract_args(step)
        out = Path(args[-1])
        before = b.db.head()
        assert b.r.kill_at(args, (EXTRACTS + name, when, "")), step
        b.after_kill("extract", 0, before)
        made = b.deliveries_since(before[1])
        b.check_extract(step, out, made, "after the kill")
        assert (len(made), out.exists()) == {"written": (0, False), "named": (1, True)}.get(
            step, (1, False)
        ), step
        if step == "named":
            continue
        b.r.run(*args)
        again = b.deliveries_since(before[1])
        assert len(again) == 1 and again[:1] == (made or again[:1]), step
        b.check_extract(step, out, again, "after re-run")
        assert out.exists() and not list(tmp_path.glob("*.part")), step
    check(b)
