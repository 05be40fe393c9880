"""The projections of due process (cases, activity, determinations, requests), in order."""

from __future__ import annotations

from vitalfile.cases.determinations import DeterminationsProjection
from vitalfile.cases.framework import CasesProjection
from vitalfile.disclosure.requests import RequestsProjection
from vitalfile.intake.activity import ActivityProjection
from vitalfile.ledger.store import Projection

__all__ = ["due_process_projections"]


def due_process_projections() -> list[Projection]:
    return [
        CasesProjection(),
        ActivityProjection(),
        DeterminationsProjection(),
        RequestsProjection(),
    ]
