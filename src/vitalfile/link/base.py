"""The linker interface, the outcome it gives for one report, and the order a batch is
decided and posted in (a state's certified records first)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from vitalfile.events import ReportReceived
from vitalfile.ledger.store import Store

__all__ = ["LinkResult", "Linker", "Outcome", "ReportIn", "state_first"]

Outcome = Literal["linked", "held", "unlinked"]
ReportIn = ReportReceived


def state_first(reports: Sequence[ReportReceived]) -> list[int]:
    """The batch's positions, a state's reports first (each group in batch order): a death
    a state certifies is then on file for the other reports about the same person."""
    return sorted(range(len(reports)), key=lambda i: reports[i].source_kind != "state")


@dataclass(frozen=True)
class LinkResult:
    report_key: str
    outcome: Outcome
    reason: str = ""
    person_id: int | None = None
    runner_up: int | None = None
    runner_up_weight: float | None = None  # the holds' margin check reads it
    probability: float | None = None
    match_weight: float | None = None
    decided_by: str = "rule"
    model_version: str = ""
    weights: dict[str, float] = field(default_factory=dict)
    explanation: tuple[str, ...] = ()


class Linker(Protocol):
    """Finds the person each report is about, reading the master file through `store`."""

    version: str

    def link(self, store: Store, reports: Sequence[ReportReceived]) -> list[LinkResult]: ...
