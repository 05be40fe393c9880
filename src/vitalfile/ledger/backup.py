"""Backups of the ledger (DuckDB or PostgreSQL) into a folder, and restores from one.

A backup holds what the file cannot rebuild: every commit and event up to the chain head
verified when the backup began, as stored (Parquet), with a manifest (counts, head, each
file's SHA-256) and, when the keeper's key is at hand, a checkpoint signing that head. It is
consistent while the service writes: commits are append-only and made one at a time, so
everything up to a committed head is fixed; later commits are simply not in it.

A restore refuses a damaged backup (a file's SHA-256, the chain, the head), fills an empty
database in one transaction and rebuilds the projections from the events. Given a later
checkpoint it says how many commits the restored ledger lacks — never a silent loss.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from vitalfile.errors import ChainBroken, CheckpointMismatch, InputError, UsageError
from vitalfile.ledger.checkpoint import Checkpoint
from vitalfile.ledger.copy import _COMMIT_COLS, _EVENT_COLS, _cast
from vitalfile.ledger.store import CommitInfo, Store, utc_now_text

__all__ = ["BACKUP_FORMAT", "BackupResult", "RestoreResult", "backup", "restore"]

BACKUP_FORMAT = "vitalfile-backup/1"
MANIFEST = "manifest.json"


@dataclass
class BackupResult:
    folder: Path
    commits: int
    events: int
    head: CommitInfo | None
    checkpoint: Path | None


@dataclass
class RestoreResult:
    commits: int
    events: int
    head: CommitInfo | None
    later: Checkpoint | None = None  # the later checkpoint it was compared with
    lacks: int = 0  # commits of the later checkpoint's ledger the restore does not hold


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def backup(
    store: Store,
    out: Path,
    *,
    sign: Callable[[CommitInfo], Checkpoint] | None = None,
    chunk: int = 500_000,
    progress: Callable[[int], None] | None = None,
) -> BackupResult:
    """Write every commit and event up to the verified head into the new folder `out`;
    `sign` (the keeper's key) adds `checkpoint.json` signing that head."""
    if out.exists() and any(out.iterdir()):
        raise UsageError("the backup folder is not empty", file=str(out))
    checked = store.verify()
    if not checked.ok:
        raise ChainBroken(f"the ledger does not verify: {checked.problems[0]}")
    head = checked.head
    out.mkdir(parents=True, exist_ok=True)
    files: list[dict[str, Any]] = []

    def write(name: str, table: pa.Table) -> None:
        path = out / name
        pq.write_table(table, path, compression="zstd")
        files.append({"name": name, "rows": table.num_rows, "sha256": _sha256(path)})

    head_no = head.commit_no if head else 0
    commits = _cast(
        store.query_arrow(
            f"SELECT {', '.join(_COMMIT_COLS)} FROM ledger_commits WHERE commit_no <= ? "
            "ORDER BY commit_no",
            [head_no],
        ),
        "ledger_commits",
    )
    write("ledger_commits.parquet", commits)
    last_seq = head.last_seq if head else 0
    n_events = 0
    for part, lo in enumerate(range(0, last_seq, chunk)):
        events = _cast(
            store.query_arrow(
                f"SELECT {', '.join(_EVENT_COLS)} FROM ledger_events "
                "WHERE seq > ? AND seq <= ? ORDER BY seq",
                [lo, min(last_seq, lo + chunk)],
            ),
            "ledger_events",
        )
        write(f"ledger_events-{part:05d}.parquet", events)
        n_events += events.num_rows
        if progress is not None:
            progress(events.num_rows)
    if n_events != checked.events or commits.num_rows != head_no:
        raise ChainBroken("the ledger changed under the backup's reads; nothing was kept")
    cp_path = None
    if sign is not None and head is not None:
        cp_path = out / "checkpoint.json"
        cp_path.write_text(sign(head).to_json())
    manifest = {
        "format": BACKUP_FORMAT,
        "made_at": utc_now_text(),
        "backend": "postgresql"
        if store.url.startswith(("postgres://", "postgresql://"))
        else "duckdb",
        "commits": head_no,
        "events": n_events,
        "head": asdict(head) if head else None,
        "files": files,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return BackupResult(out, head_no, n_events, head, cp_path)


def read_manifest(folder: Path) -> dict[str, Any]:
    try:
        doc = json.loads((folder / MANIFEST).read_text())
    except FileNotFoundError as exc:
        raise InputError("not a vitalfile backup (no manifest.json)", file=str(folder)) from exc
    except ValueError as exc:
        raise InputError("the backup's manifest is not JSON", file=MANIFEST) from exc
    if not isinstance(doc, dict) or doc.get("format") != BACKUP_FORMAT:
        raise InputError(f"not a {BACKUP_FORMAT} backup", file=MANIFEST)
    return doc


def restore(
    folder: Path,
    target: Store,
    *,
    later: Checkpoint | None = None,
    progress: Callable[[int], None] | None = None,
) -> RestoreResult:
    """Fill the empty `target` from the backup in `folder` (all or nothing), rebuild its
    projections, and check the chain ends at the backup's head. With `later` (a checkpoint
    taken after the backup), count the commits the restored ledger lacks."""
    manifest = read_manifest(folder)
    files = list(manifest.get("files", []))
    for f in files:
        path = folder / str(f["name"])
        if not path.exists():
            raise InputError("a file of the backup is missing", file=str(f["name"]))
        if _sha256(path) != f["sha256"]:
            raise InputError("a file of the backup is damaged (SHA-256)", file=str(f["name"]))
    n_commits = n_events = 0
    with target.transaction() as tx:
        if target.head() is not None:
            raise UsageError("the target already holds a ledger; restore into an empty one")
        for f in files:
            table = pq.read_table(folder / str(f["name"]))
            name = (
                "ledger_commits" if str(f["name"]).startswith("ledger_commits") else "ledger_events"
            )
            table = _cast(table, name)
            if table.num_rows:
                tx.insert_arrow(name, table)
            if name == "ledger_commits":
                n_commits += table.num_rows
            else:
                n_events += table.num_rows
                if progress is not None:
                    progress(table.num_rows)
        target.rebuild()
    checked = target.verify()
    if not checked.ok:
        raise ChainBroken(f"the restored ledger does not verify: {checked.problems[0]}")
    want = manifest.get("head") or {}
    got = checked.head
    if (got.hash if got else None) != want.get("hash") or n_events != manifest.get("events"):
        raise ChainBroken("the restored ledger does not end at the backup's head")
    result = RestoreResult(n_commits, n_events, got, later)
    if later is not None:
        head_no = got.commit_no if got else 0
        result.lacks = max(0, later.commit_no - head_no)
        if not result.lacks:  # the restore holds that commit: it must be the same one
            rows = target.query(
                "SELECT hash FROM ledger_commits WHERE commit_no = ?", [later.commit_no]
            )
            if not rows or rows[0][0] != later.hash:
                raise CheckpointMismatch(
                    "the checkpoint is not of this ledger", commit=later.commit_no
                )
    return result
