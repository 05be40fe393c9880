"""The projections of due process (cases, activity, determinations, requests), in order."""

from __future__ import annotations

from vitalfile.activity import ActivityProjection
from vitalfile.cases import CasesProjection
from vitalfile.determinations import DeterminationsProjection
from vitalfile.ledger.store import Projection
from vitalfile.requests import RequestsProjection

__all__ = ["due_process_projections"]


def due_process_projections() -> list[Projection]:
    return [
        CasesProjection(),
        ActivityProjection(),
        DeterminationsProjection(),
        RequestsProjection(),
    ]
