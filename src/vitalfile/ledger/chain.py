"""The hash chain: how a commit's hash is computed from its events and its predecessor.

A commit's hash is SHA-256 over a short header (previous hash, commit number, first sequence
number, event count, commit time) and the SHA-256 of its events' canonical bytes: their
stored JSON texts concatenated in sequence order. JSON objects delimit themselves, so the
concatenation is unambiguous. Digests are fed whole Arrow buffers, never a Python call per
event.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

__all__ = ["GENESIS", "CommitHeader", "commit_hash", "digest_texts", "update_with_strings"]

GENESIS = "0" * 64


@dataclass(frozen=True)
class CommitHeader:
    commit_no: int
    first_seq: int
    n_events: int
    committed_at: str  # ISO UTC with microseconds, as stored
    prev_hash: str


def commit_hash(header: CommitHeader, events_digest: str) -> str:
    """The stored hash of a commit."""
    text = "\n".join(
        (
            header.prev_hash,
            str(header.commit_no),
            str(header.first_seq),
            str(header.n_events),
            header.committed_at,
            events_digest,
        )
    )
    return hashlib.sha256(text.encode()).hexdigest()


def update_with_strings(h: hashlib._Hash, arr: pa.Array) -> None:
    """Feed the concatenated UTF-8 bytes of a string array to `h` (one buffer call)."""
    if len(arr) == 0:
        return
    if arr.null_count:
        raise ValueError("null event text")
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        offsets_type = np.int32 if pa.types.is_string(arr.type) else np.int64
        bufs = arr.buffers()
        offsets = np.frombuffer(bufs[1], dtype=offsets_type)
        start = int(offsets[arr.offset])
        end = int(offsets[arr.offset + len(arr)])
        data = bufs[2]
        if data is None:  # every string empty
            return
        h.update(memoryview(data)[start:end])
    elif pa.types.is_string_view(arr.type):
        update_with_strings(h, arr.cast(pa.large_string()))
    else:
        raise TypeError(f"event text column has type {arr.type}")


def digest_texts(texts: Iterable[str]) -> str:
    """SHA-256 hex of texts concatenated (the small-batch path used by `append`)."""
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode())
    return h.hexdigest()
