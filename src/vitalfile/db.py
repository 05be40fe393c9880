"""Opening a store: the caller names the database, this wires the standard projections."""

from __future__ import annotations

import os

from vitalfile.cases.access import AccessCodesProjection
from vitalfile.cases.determinations import DeterminationsProjection
from vitalfile.cases.framework import CasesProjection
from vitalfile.disclosure.access import ApiKeysProjection  # issue 8
from vitalfile.disclosure.accounting import AccountingProjection
from vitalfile.disclosure.distribute import DeliveredProjection, DeliveriesProjection
from vitalfile.disclosure.monitor import MonitorProjection
from vitalfile.disclosure.policy import PolicyProjection
from vitalfile.disclosure.requests import RequestsProjection
from vitalfile.intake.activity import ActivityProjection
from vitalfile.intake.vrdr import MessagesProjection
from vitalfile.ledger.duckdb import DEFAULT_MEMORY_LIMIT, DuckDBStore
from vitalfile.ledger.store import Projection, Store
from vitalfile.master.projection import MasterProjection

__all__ = ["open_store", "standard_projections"]


def standard_projections() -> list[Projection]:
    """Every projection the file keeps, in the order they are applied."""
    return [
        MasterProjection(),
        DeliveriesProjection(),
        MessagesProjection(),
        PolicyProjection(),  # issue 5: before the projections that read recipients
        DeliveredProjection(),
        MonitorProjection(),
        AccountingProjection(),
        CasesProjection(),  # due process: cases, activity, determinations, requests
        ActivityProjection(),
        DeterminationsProjection(),
        RequestsProjection(),
        ApiKeysProjection(),  # issue 8: API keys (access.py)
        AccessCodesProjection(),  # the person's one-time codes, by hash (cases/access.py)
    ]


def open_store(url: str) -> Store:
    """A store for `url`: a DuckDB path (or ':memory:'), or a postgresql:// URL."""
    if url.startswith(("postgresql://", "postgres://")):
        from vitalfile.ledger.postgres import PostgresStore

        return PostgresStore(url, standard_projections())
    limit = os.environ.get("VITALFILE_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT)
    return DuckDBStore(url, standard_projections(), memory_limit=limit)
