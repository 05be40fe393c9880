"""What leaves as files, in one import: extracts, deliveries, corrections.

The work is split by what it owns (issue 13): `extracts` makes files through the gate,
`deliveries` keeps which record versions each file held, `corrections` says what is owed.
This module only re-exports them for callers that import `distribute`.
"""

from __future__ import annotations

from vitalfile.disclosure.corrections import Correction, pending_corrections
from vitalfile.disclosure.deliveries import (
    DeliveredProjection,
    DeliveriesProjection,
    holdings_sql,
    last_delivery,
)
from vitalfile.disclosure.extracts import (
    FORMATS,
    FULL_SQL,
    ExtractResult,
    dmf_line,
    extract,
    extract_full,
    extract_update,
    write_sidecar,
)

__all__ = [
    "FORMATS",
    "FULL_SQL",
    "Correction",
    "DeliveredProjection",
    "DeliveriesProjection",
    "ExtractResult",
    "dmf_line",
    "extract",
    "extract_full",
    "extract_update",
    "holdings_sql",
    "last_delivery",
    "pending_corrections",
    "write_sidecar",
]
