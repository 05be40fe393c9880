"""The date due-process rules run on: today, in real time.

Windows (a notice's 30 days to contest) are judged by this clock and nothing else: no
command or route takes a date to judge them by. A test clock (`VITALFILE_TEST_CLOCK`, an ISO
date) exists for tests and the demo only, and is refused on a production database. A
database is production once its ledger holds a `ledger.production` event (`vitalfile ledger
mark-production`, run when a production database is set up): the ledger is append-only, so
a production database can never be unmarked.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime

from vitalfile.errors import ConfigError
from vitalfile.events import LedgerMarkedProduction
from vitalfile.ledger.store import Store, utc_now_text

__all__ = ["TEST_CLOCK_ENV", "is_production", "mark_production", "today"]

TEST_CLOCK_ENV = "VITALFILE_TEST_CLOCK"


def is_production(store: Store) -> bool:
    rows = store.query(
        "SELECT 1 FROM ledger_events WHERE type = ? LIMIT 1", [LedgerMarkedProduction.type]
    )
    return bool(rows)


def mark_production(store: Store, *, by: str = "") -> bool:
    """Mark the database as production (once; True when this call marked it)."""
    with store.transaction():
        if is_production(store):
            return False
        store.append([LedgerMarkedProduction(by=by, at=utc_now_text())], note="production")
    return True


def today(store: Store) -> date:
    """Today (UTC) in real time, or the test clock's date on a database that is not
    production (ConfigError on one that is: nothing is judged by a false date there)."""
    real = datetime.now(UTC).date()
    text = os.environ.get(TEST_CLOCK_ENV, "").strip()
    if not text:
        return real
    if is_production(store):
        raise ConfigError(
            "the test clock is refused on a production database", field=TEST_CLOCK_ENV
        )
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError("the test clock is not an ISO date", field=TEST_CLOCK_ENV) from exc
