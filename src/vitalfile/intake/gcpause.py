"""Python's cycle collector held off while a batch is read, linked and appended.

A week's batch creates millions of short-lived objects (reports, candidates, events) on top
of a heap that already holds the linker and the people it read; each full collection walks
all of them, and at 1 M people they took a sixth of the week (16 full passes, 27 s of
154 s, measured with `gc.callbacks`). What a batch allocates is freed by reference counts
when it ends; the collector runs again as usual afterwards.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["gc_paused"]


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside the block (nested blocks leave it to the outer)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
