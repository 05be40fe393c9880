"""Deciding what a linked report does to the file: post, corroborate, upgrade, or hold.

The holds that protect living people ran before this (`intake.holds`); here a link becomes
events. `decide_report` is pure: the person's state and the report in, events out. A state report
posts a verified (V) death; any other source a proof-not-verified (P) one. A later state
report upgrades a P death to V (the certificate's date wins); any other report adds to the
death already on file. It never creates a second death.

`decide_withdrawal` is the other half of the verification level, and the only place a level
goes down: when a report stops backing a death (its state voided it, or amended it to
another person), the death is retracted if nothing else backs it, and a V death falls back
to P when nothing verified is left (a DMF P record upgraded to V by a state's record goes
back to P when the state voids that record). Every door that withdraws a report calls it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from vitalfile.dates import due_date
from vitalfile.events import (
    CaseOpened,
    DeathCorroborated,
    DeathPosted,
    DeathRetracted,
    DeathUpdated,
    Event,
    ReportHeld,
    ReportLinked,
    ReportReceived,
    ReportUnlinked,
)
from vitalfile.intake.screen import Finding
from vitalfile.link.base import LinkResult
from vitalfile.master.projection import PersonState, ReportState

__all__ = ["backing", "decide_report", "decide_withdrawal", "research_case", "research_case_id"]


def decide_report(
    report: ReportReceived,
    link: LinkResult,
    person: PersonState | None,
    findings: Sequence[Finding] = (),
    *,
    at: str = "",
) -> list[Event]:
    """The events one report leads to, given its link (after the holds stage) and the
    person's state. A screening finding that holds keeps a linked report held."""
    key = report.report_key
    holds = [f for f in findings if f.hold]
    if link.outcome == "unlinked":
        unlinked: list[Event] = [
            ReportUnlinked(report_key=key, reason=link.reason, model_version=link.model_version)
        ]
        if report.source_kind == "state":
            # no report is dropped: a certified death with no one on file is researched
            unlinked.append(research_case(report, link, at))
        return unlinked
    if link.outcome == "held" or holds or person is None:
        reason = link.reason if link.outcome == "held" else "; ".join(f.message for f in holds)
        return [
            ReportHeld(
                report_key=key,
                reason=reason or "no person state",
                person_id=link.person_id,
                runner_up=link.runner_up,
                model_version=link.model_version,
                match_probability=link.probability,
                weights=link.weights,
                explanation=list(link.explanation),
            )
        ]
    assert link.person_id is not None
    pid = link.person_id
    events: list[Event] = [
        ReportLinked(
            report_key=key,
            person_id=pid,
            decided_by=link.decided_by,
            model_version=link.model_version,
            match_probability=link.probability if link.probability is not None else 1.0,
            match_weight=link.match_weight,
            weights=link.weights,
        )
    ]
    proof = "V" if report.source_kind == "state" else "P"
    death = person.death
    if death is None or death.status != "current":
        events.append(
            DeathPosted(
                person_id=pid,
                dod=report.dod,
                proof=proof,
                report_key=key,
                source_kind=report.source_kind,
            )
        )
    else:
        events.append(
            DeathCorroborated(person_id=pid, report_key=key, source_kind=report.source_kind)
        )
        if proof == "V" and death.proof != "V":
            events.append(
                DeathUpdated(
                    person_id=pid,
                    dod=report.dod,
                    proof="V",
                    report_key=key,
                    reason="verified by a state death record",
                )
            )
    return events


def backing(
    key: str,
    person_id: int,
    person: PersonState,
    others: Mapping[str, ReportState],
    *,
    dmf_proof: str = "",
) -> tuple[bool, bool]:
    """(does anything but report `key` back the person's death, is any of that verified?)

    A report backs a death while it is linked to that person; a DMF record taken over
    always backs it, with its own proof (`dmf_proof`, as the DMF file had it): a DMF P
    record is not verified because a state's record once upgraded the death to V.
    """
    death = person.death
    assert death is not None
    rest = [
        others[k]
        for k in death.report_keys
        if k != key
        and k in others
        and others[k].status == "linked"
        and others[k].person_id == person_id
    ]
    dmf = "dmf" in death.sources
    verified = (dmf and dmf_proof == "V") or any(
        r.fields.get("source_kind") == "state" for r in rest
    )
    return bool(rest) or dmf, verified


def decide_withdrawal(
    key: str,
    person_id: int,
    person: PersonState | None,
    others: Mapping[str, ReportState],
    reason: str,
    *,
    dmf_proof: str = "",
) -> list[Event]:
    """Report `key` no longer backs the person's death: retract it, or lower its proof to P.

    Nothing happens when the death is not current or `key` never backed it.
    """
    if person is None or person.death is None or person.death.status != "current":
        return []
    death = person.death
    if key not in death.report_keys:
        return []
    backed, verified = backing(key, person_id, person, others, dmf_proof=dmf_proof)
    if not backed:
        return [
            DeathRetracted(
                person_id=person_id,
                reason=reason,
                evidence=[key],
                decided_by="source",
                report_keys=[key],
            )
        ]
    if death.proof == "V" and not verified:
        return [
            DeathUpdated(
                person_id=person_id,
                dod=death.dod,
                proof="P",
                reason=f"{reason}; no verified report left",
            )
        ]
    return []


def research_case_id(report_key: str) -> str:
    """The research case a state's unmatched certificate opens (one per report)."""
    return f"X/{report_key}"


def research_case(report: ReportReceived, link: LinkResult, at: str) -> CaseOpened:
    """A state's certificate that matches no one on file (or only below the unlink
    threshold) becomes a research case with its best candidates, never silence."""
    return CaseOpened(
        case_id=research_case_id(report.report_key),
        kind="research",
        about=report.report_key,
        reason=f"certificate with no person on file: {link.reason or 'no candidate'}",
        due=due_date(at, "research") if at else "",
        explanation=list(link.explanation),
        at=at,
    )
