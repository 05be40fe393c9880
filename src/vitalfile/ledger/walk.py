"""The chain check itself, written once for every backend.

A backend streams its events as batches (sequence numbers, commit numbers, and a way to feed
a slice of the batch's event texts to a hash); `walk_chain` recomputes each commit's hash and
link and names the first commit that does not match.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from vitalfile.ledger.chain import GENESIS, CommitHeader, commit_hash
from vitalfile.ledger.store import CommitInfo, VerifyReport

__all__ = ["Batch", "walk_chain"]

# (seqs, commit numbers, feed(h, start, count): hash that slice of the batch's texts)
Batch = tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], Callable[[Any, int, int], None]]


def walk_chain(
    commits: list[CommitInfo],
    batches: Iterable[Batch],
    *,
    started: float | None = None,
    suffix: str = "",
) -> VerifyReport:
    """Check `commits` against the events in `batches` (in sequence order).

    `suffix` is added to problems that a scan out of sequence order could also explain
    (the DuckDB store scans in storage order first, then again in sequence order).
    """
    started = time.perf_counter() if started is None else started
    report = VerifyReport()
    idx = 0  # current commit
    pos = 0  # events of it consumed
    h = hashlib.sha256()
    prev_hash = GENESIS
    expected_seq = 1
    problem: str | None = None

    def close_commit(c: CommitInfo) -> str | None:
        header = CommitHeader(c.commit_no, c.first_seq, c.n_events, c.committed_at, prev_hash)
        if c.prev_hash != prev_hash:
            return f"commit {c.commit_no}: does not follow the commit before it"
        if commit_hash(header, h.hexdigest()) != c.hash:
            return f"commit {c.commit_no}: its events do not match its hash"
        return None

    def check_header(c: CommitInfo, number: int) -> str | None:
        if c.commit_no != number:
            return f"commit {number}: missing (next stored is {c.commit_no})"
        if c.first_seq != expected_seq:
            return f"commit {c.commit_no}: events out of sequence"
        if c.n_events < 1:
            return f"commit {c.commit_no}: holds no events"
        return None

    if commits:
        problem = check_header(commits[0], 1)
    for seqs, nos, feed in batches if problem is None else ():
        n = len(seqs)
        start = 0
        while start < n and problem is None:
            if idx >= len(commits):
                problem = f"commit {int(nos[start:].min())}: events stored outside any commit"
                problem += suffix
                break
            c = commits[idx]
            take = min(c.n_events - pos, n - start)
            sl = slice(start, start + take)
            want = np.arange(expected_seq, expected_seq + take)
            bad = (seqs[sl] != want) | (nos[sl] != c.commit_no)
            if bad.any():
                # an event claiming an earlier commit is that commit's tampering
                blame = min(c.commit_no, int(nos[sl][bad].min()))
                problem = f"commit {blame}: events missing, inserted or reordered{suffix}"
                break
            feed(h, start, take)
            expected_seq += take
            pos += take
            start += take
            report.events += take
            if pos == c.n_events:
                problem = close_commit(c)
                if problem is None:
                    prev_hash = c.hash
                    report.commits += 1
                    report.head = c
                    idx += 1
                    pos = 0
                    h = hashlib.sha256()
                    if idx < len(commits):
                        problem = check_header(commits[idx], c.commit_no + 1)
        if problem is not None:
            break
    if problem is None and idx < len(commits):
        problem = f"commit {commits[idx].commit_no}: events missing, inserted or reordered"
    if problem is not None:
        report.problems.append(problem)
    report.seconds = time.perf_counter() - started
    return report
