"""Data-quality rules for received reports: each rule is a small pure function of a report.

A finding never drops a report; it says why the report cannot be acted on automatically
(the report is then held for a person) or is only worth noting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from vitalfile.dates import earliest, latest
from vitalfile.events import ReportReceived

__all__ = ["RULES", "Finding", "screen"]


@dataclass(frozen=True)
class Finding:
    rule: str
    field: str
    message: str
    hold: bool  # True: a person must look before the report can post a death


def _ssn(r: ReportReceived, today: date) -> Finding | None:
    if r.ssn_flag:
        return Finding("ssn_unusable", "ssn", r.ssn_flag, hold=False)
    return None


def _dod_unknown(r: ReportReceived, today: date) -> Finding | None:
    if not r.dod:
        return Finding("dod_unknown", "dod", "date of death unknown", hold=True)
    return None


def _dod_future(r: ReportReceived, today: date) -> Finding | None:
    if r.dod and earliest(r.dod) > today:
        return Finding("dod_future", "dod", "date of death is in the future", hold=True)
    return None


def _dod_before_dob(r: ReportReceived, today: date) -> Finding | None:
    if r.dod and r.dob and latest(r.dod) < earliest(r.dob):
        return Finding("dod_before_dob", "dod", "date of death before date of birth", hold=True)
    return None


RULES: tuple[Callable[[ReportReceived, date], Finding | None], ...] = (
    _ssn,
    _dod_unknown,
    _dod_future,
    _dod_before_dob,
)


def screen(report: ReportReceived, today: date) -> list[Finding]:
    """Every finding of every rule for one report."""
    return [f for rule in RULES if (f := rule(report, today)) is not None]
