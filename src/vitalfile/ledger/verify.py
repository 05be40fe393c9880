"""Verifying the ledger: the hash chain, and that it still extends a signed checkpoint."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vitalfile.errors import LedgerError, VitalfileError
from vitalfile.ledger.checkpoint import (
    Checkpoint,
    load_keyring,
    make_checkpoint,
    read_checkpoint,
)
from vitalfile.ledger.store import Store, VerifyReport, utc_now_text

__all__ = ["checkpoint_now", "extends", "latest_checkpoint", "verify_latest", "verify_ledger"]


def extends(store: Store, report: VerifyReport, cp: Checkpoint) -> str | None:
    """Why the verified ledger does not extend `cp`, or None when it does."""
    if report.head is None or report.head.commit_no < cp.commit_no:
        return f"commit {cp.commit_no}: the checkpointed commit is no longer in the ledger"
    rows = store.query(
        "SELECT hash, committed_at FROM ledger_commits WHERE commit_no = ?", [cp.commit_no]
    )
    if not rows or rows[0][0] != cp.hash:
        return f"commit {cp.commit_no}: the ledger no longer holds the checkpointed head"
    if str(rows[0][1]) != cp.committed_at:  # signed, and what a key's retirement is judged by
        return f"commit {cp.commit_no}: the checkpoint names another commit time"
    return None


def verify_ledger(
    store: Store, checkpoint: Checkpoint | None = None, key_path: Path | None = None
) -> VerifyReport:
    """The chain checked; with a checkpoint, its signature and that the ledger extends it.

    `key_path` is the keeper's key (its keyring beside it, and its .pub) or a keyring file
    (`*.json`, as recipients hold it): the checkpoint's key id picks the key, and a key
    retired before the checkpoint was signed is refused."""
    report = store.verify()
    if report.ok and checkpoint is not None:
        if key_path is None:
            raise LedgerError("a checkpoint needs the keeper's public key to check it")
        load_keyring(key_path).verify(checkpoint)
        problem = extends(store, report, checkpoint)
        if problem:
            report.problems.append(problem)
    return report


def checkpoint_now(store: Store, key: Ed25519PrivateKey) -> Checkpoint:
    """A signed checkpoint of the current head (verifying the chain first)."""
    report = store.verify()
    if not report.ok:
        raise LedgerError(report.problems[0])
    if report.head is None:
        raise LedgerError("the ledger is empty: nothing to checkpoint")
    return make_checkpoint(report.head, key, utc_now_text())


def latest_checkpoint(folder: Path) -> tuple[Path, Checkpoint] | None:
    """The newest signed checkpoint kept beside the files sent out from `folder`."""
    best: tuple[Path, Checkpoint] | None = None
    if not folder.is_dir():
        return None
    for path in folder.rglob("*checkpoint*.json"):
        try:
            cp = read_checkpoint(path)
        except VitalfileError:
            continue
        if best is None or cp.commit_no > best[1].commit_no:
            best = (path, cp)
    return best


def verify_latest(
    store: Store, folder: Path, key_path: Path
) -> tuple[VerifyReport, Checkpoint | None]:
    """The chain checked, and against the newest checkpoint under `folder` when there is
    one (its signature with the keeper's public key, and that the ledger extends it)."""
    found = latest_checkpoint(folder)
    if found is None:
        return store.verify(), None
    cp = found[1]
    try:
        return verify_ledger(store, cp, key_path), cp
    except VitalfileError as exc:
        report = store.verify()
        report.problems.append(f"checkpoint of commit {cp.commit_no}: {exc.message}")
        return report, cp
