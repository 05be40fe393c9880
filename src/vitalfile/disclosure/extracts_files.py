"""Where an extract's bytes wait and how they reach their name, so that a kill at any moment
leaves either no file or a file whose delivery is recorded (issue 17).

A file is written beside its name as `NAME.<delivery id>.part`, flushed to disk, and renamed
to `NAME` only after its `delivery.made` commit (its signed sidecar first). A part whose id
the ledger holds was recorded and not yet renamed: it is finished, never made again; a part
whose id it does not hold died before its commit: it is removed. Both are done under a lock
on the folder, which every extract into that folder holds from its first byte to its rename,
so no live run's part is ever taken for a dead one's. This module knows files only: what to
record or sign is `extracts`'.
"""

from __future__ import annotations

import fcntl
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "locked_folder",
    "new_delivery_id",
    "part_path",
    "parts_in",
    "publish_file",
    "sync_file",
    "write_text_atomically",
]

_PART = re.compile(r"(?P<name>.+)\.(?P<id>[0-9a-f]{32})\.part")
_SIDECAR_PART = ".checkpoint.json.part"


def new_delivery_id() -> str:
    return uuid.uuid4().hex


def part_path(out: Path, delivery_id: str) -> Path:
    """Where the file for `out` is written before its delivery is recorded."""
    return out.with_name(f"{out.name}.{delivery_id}.part")


def parts_in(folder: Path) -> Iterator[tuple[Path, Path, str]]:
    """(part, the name it is for, delivery id) of every part a run left in `folder`. Call
    with the folder locked; a signed sidecar that was being written is removed (a finished
    delivery writes it again)."""
    for leftover in folder.glob("*" + _SIDECAR_PART):
        leftover.unlink(missing_ok=True)
    for part in sorted(folder.glob("*.part")):
        m = _PART.fullmatch(part.name)
        if m:
            yield part, part.with_name(m["name"]), m["id"]


@contextmanager
def locked_folder(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on `folder` (released by the kernel if the process dies)."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def sync_file(path: Path) -> None:
    """The file's bytes on disk before the commit that records them (or, for a folder, the
    names in it)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_text_atomically(path: Path, text: str) -> None:
    """`path` holds all of `text` or what it held before, never a part of it."""
    tmp = path.with_name(path.name + ".part")
    with tmp.open("w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)


def publish_file(part: Path, out: Path) -> None:
    """Rename the recorded file to its name, durably."""
    part.replace(out)
    sync_file(out.parent)
