"""The disclosure journal: written ahead, committed in batches, recovered after a crash."""

from __future__ import annotations

from pathlib import Path

from vitalfile.db import open_store
from vitalfile.events import DisclosureMade
from vitalfile.ledger.journal import Journal
from vitalfile.ledger.store import Store


def _event(i: int) -> DisclosureMade:
    return DisclosureMade(
        disclosure_id=f"d{i}",
        recipient="bank",
        agreement_id="a1",
        purpose="fraud prevention",
        authority="law",
        channel="verify",
        fields=["death"],
        person_ids=[i],
        given=["no death on file"],
    )


def _ids(store: Store) -> list[str]:
    return [
        e.event.disclosure_id  # type: ignore[attr-defined]
        for e in store.iter_events(types=["disclosure.made"])
    ]


def test_batches_commit_and_close_flushes(tmp_path: Path) -> None:
    with open_store(str(tmp_path / "j.duckdb")) as store:
        journal = Journal(store, tmp_path / "j.log", max_batch=3, max_delay=3600)
        for i in range(7):
            journal.record(_event(i))
        assert _ids(store) == [f"d{i}" for i in range(6)]  # two full batches committed
        journal.close()
        assert _ids(store) == [f"d{i}" for i in range(7)]
        assert store.verify().ok
        assert not list(tmp_path.glob("j.log*"))


def test_a_crashed_journal_is_recovered_once(tmp_path: Path) -> None:
    db = tmp_path / "j.duckdb"
    with open_store(str(db)) as store:
        journal = Journal(store, tmp_path / "j.log", max_batch=2, max_delay=3600)
        for i in range(5):
            journal.record(_event(i))
        # the process dies here: d4 is only in the journal file
        journal._fh.close()
        assert _ids(store) == ["d0", "d1", "d2", "d3"]
    # a crash after a commit but before its segment was deleted must not double-record
    leftover = sorted(tmp_path.glob("j.log.*"))
    assert [p.read_text().count("\n") for p in leftover] == [1]  # only d4 awaits
    (tmp_path / "j.log.0").write_text("1\t" + _event(0).to_json() + "\n")
    with leftover[0].open("a") as fh:
        fh.write("6\t{trunc")
    with open_store(str(db)) as store:
        Journal(store, tmp_path / "j.log").close()
        assert _ids(store) == ["d0", "d1", "d2", "d3", "d4"]
        assert store.verify().ok
        assert not list(tmp_path.glob("j.log*"))


def test_answers_keep_flowing_while_a_batch_commits(tmp_path: Path) -> None:
    import threading

    with open_store(str(tmp_path / "j.duckdb")) as store:
        journal = Journal(store, tmp_path / "j.log", max_batch=10**9, inline_flush=False)
        stop = threading.Event()

        def flusher() -> None:
            while not stop.is_set():
                journal.flush()

        t = threading.Thread(target=flusher)
        t.start()
        for i in range(300):
            journal.record(_event(i))
        stop.set()
        t.join()
        journal.close()
        assert _ids(store) == [f"d{i}" for i in range(300)]
        assert store.verify().ok
