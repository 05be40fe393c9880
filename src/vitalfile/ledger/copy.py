"""Moving a ledger between stores (DuckDB ↔ PostgreSQL): commits and events as stored.

Commits keep their number, time text, hashes and note byte for byte, so the target's chain
has the same head hash; projections are rebuilt on the target from the events alone. The
copy is one target transaction: all or nothing. It goes through the `Store` interface only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa

from vitalfile.errors import ChainBroken, StateConflict
from vitalfile.ledger.store import CommitInfo, Store

__all__ = ["CopyResult", "copy_ledger"]

_COMMIT_COLS = ("commit_no", "first_seq", "n_events", "committed_at", "prev_hash", "hash", "note")
_EVENT_COLS = ("seq", "commit_no", "type", "subject", "body")
_SCHEMA = {
    "ledger_commits": pa.schema(
        [
            ("commit_no", pa.int64()),
            ("first_seq", pa.int64()),
            ("n_events", pa.int64()),
            ("committed_at", pa.string()),
            ("prev_hash", pa.string()),
            ("hash", pa.string()),
            ("note", pa.string()),
        ]
    ),
    "ledger_events": pa.schema(
        [
            ("seq", pa.int64()),
            ("commit_no", pa.int64()),
            ("type", pa.string()),
            ("subject", pa.int64()),
            ("body", pa.string()),
        ]
    ),
}


@dataclass
class CopyResult:
    commits: int
    events: int
    head: CommitInfo | None


def copy_ledger(
    source: Store,
    target: Store,
    *,
    chunk: int = 500_000,
    progress: Callable[[int], None] | None = None,
) -> CopyResult:
    """Copy every commit and event of `source` into the empty `target`, then rebuild the
    target's projections; both chains are verified and must end in the same head."""
    checked = source.verify()
    if not checked.ok:
        raise ChainBroken(f"the source ledger does not verify: {checked.problems[0]}")
    n_commits = n_events = 0
    with target.transaction() as tx:
        if target.head() is not None:
            raise StateConflict("the target already holds a ledger; copy into an empty one")
        # up to the verified head: a source still being written to may have moved on
        head_no = checked.head.commit_no if checked.head else 0
        last = 0
        while last < head_no:
            commits = _cast(
                source.query_arrow(
                    f"SELECT {', '.join(_COMMIT_COLS)} FROM ledger_commits "
                    f"WHERE commit_no > ? AND commit_no <= ? ORDER BY commit_no "
                    f"LIMIT {int(chunk)}",
                    [last, head_no],
                ),
                "ledger_commits",
            )
            if commits.num_rows == 0:
                break
            tx.insert_arrow("ledger_commits", commits)
            n_commits += commits.num_rows
            last = int(commits.column("commit_no")[-1].as_py())
        last_seq = checked.head.last_seq if checked.head else 0
        for lo in range(0, last_seq, chunk):
            events = _cast(
                source.query_arrow(
                    f"SELECT {', '.join(_EVENT_COLS)} FROM ledger_events "
                    "WHERE seq > ? AND seq <= ? ORDER BY seq",
                    [lo, min(last_seq, lo + chunk)],
                ),
                "ledger_events",
            )
            tx.insert_arrow("ledger_events", events)
            n_events += events.num_rows
            if progress is not None:
                progress(events.num_rows)
        target.rebuild()
    copied = target.verify()
    if not copied.ok:
        raise ChainBroken(f"the copy does not verify: {copied.problems[0]}")
    same = (copied.head.hash if copied.head else None) == (
        checked.head.hash if checked.head else None
    )
    if not same or copied.events != checked.events:
        raise ChainBroken("the copy does not end in the source's chain head")
    return CopyResult(n_commits, n_events, copied.head)


def _cast(table: pa.Table, name: str) -> pa.Table:
    """The ledger columns in one Arrow schema, whichever backend read them."""
    return table.select(_SCHEMA[name].names).cast(_SCHEMA[name])
