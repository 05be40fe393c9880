"""Writing a file all or nothing: shared by the format writers."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

__all__ = ["staged"]


@contextmanager
def staged(out: str | os.PathLike[str] | TextIO) -> Iterator[TextIO]:
    """A text sink that reaches `out` only when the block ends without an error."""
    if isinstance(out, str | os.PathLike):
        target = Path(out)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                yield fh
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    else:
        with tempfile.SpooledTemporaryFile(
            max_size=8 << 20, mode="w+", encoding="utf-8", newline=""
        ) as spool:
            yield spool  # type: ignore[misc]
            spool.seek(0)
            shutil.copyfileobj(spool, out)
