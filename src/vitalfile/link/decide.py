"""From scored candidates to an outcome: linked, held for review, or unlinked. Pure.

Input: one report, its candidates as the model scored them (probability, match weight, the
level each comparison reached), the people a reviewer vetoed for it, and the thresholds.
Output: a `LinkResult`. No database, no model: the same inputs always give the same result.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from vitalfile.link.base import LinkResult
from vitalfile.link.settings import level_words
from vitalfile.model import ReportReceived

__all__ = [
    "DECIDE_SETTINGS_HELP",
    "Candidate",
    "DecideSettings",
    "age_at",
    "decide_link",
    "explain_lines",
    "relative_ssn",
]

DECIDE_SETTINGS_HELP = {
    "link_probability": "lowest match probability linked without review",
    "unlink_probability": "below this the best candidate is no candidate: unlinked",
    "margin_weight": "how far (match weight) the runner-up must trail to link automatically",
    "minor_age": "subjects younger than this at death are held (see minor_hold_sources)",
    "minor_hold_sources": "source kinds whose reports about a minor are held (a state's "
    "certified death record is not)",
}


@dataclass(frozen=True)
class DecideSettings:
    """The thresholds, chosen from the accuracy benchmark (see docs/accuracy.md)."""

    link_probability: float = 0.99
    unlink_probability: float = 0.05
    margin_weight: float = 8.0
    minor_age: int = 18
    minor_hold_sources: tuple[str, ...] = ("funeral_home", "family", "financial", "federal_agency")


@dataclass(frozen=True)
class Candidate:
    """One person the model scored against a report."""

    person_id: int
    probability: float
    match_weight: float
    levels: dict[str, int]  # comparison -> gamma (Splink's level number; -1 is null)
    weights: dict[str, float]  # comparison (and tf_<comparison>, prior) -> match weight
    dob: str = ""  # the person's date of birth on file

    def level(self, comparison: str) -> str:
        return level_words(comparison, self.levels.get(comparison, -1))[2]


@dataclass(frozen=True)
class _Verdict:
    outcome: str
    reason: str = ""
    best: Candidate | None = None
    runner_up: Candidate | None = None
    extra: list[str] = field(default_factory=list)


def relative_ssn(c: Candidate) -> bool:
    """The report's SSN is this person's, but their first name or birth date clearly differ."""
    if c.level("ssn") != "exact":
        return False
    return c.level("first_name") in ("else", "initial") or c.level("dob") in ("else", "year1")


def age_at(dob: str, dod: str) -> int | None:
    """Whole years between two (partial) dates; None when either is unknown."""
    if not dob or not dod:
        return None
    years = int(dod[:4]) - int(dob[:4])
    bm, bd, dm, dd = int(dob[5:7]), int(dob[8:10]), int(dod[5:7]), int(dod[8:10])
    if bm and dm and (dm, dd or 31) < (bm, bd or 1):
        years -= 1
    return years


def explain_lines(c: Candidate, prior_weight: float | None = None) -> list[str]:
    """The waterfall in plain words: the prior, each comparison's level and weight, the end."""
    lines = []
    prior = c.weights.get("prior", prior_weight)
    if prior is not None:
        lines.append(f"starting point (any two records): {prior:+.1f}")
    for name, gamma in c.levels.items():
        label, words, _ = level_words(name, gamma)
        w = c.weights.get(name, 0.0)
        text = f"{label}: {words}, {w:+.1f}"
        tf = c.weights.get(f"tf_{name}")
        if tf is not None and abs(tf) >= 0.05:
            text += f" ({'rarer' if tf > 0 else 'more common'} name than most, {tf:+.1f})"
        lines.append(text)
    lines.append(
        f"total {c.match_weight:+.1f}: match probability {c.probability:.6f} (person {c.person_id})"
    )
    return lines


def _verdict(
    report: ReportReceived,
    candidates: Sequence[Candidate],
    vetoed: Collection[int],
    s: DecideSettings,
) -> _Verdict:
    v = _plain_verdict(report, candidates, vetoed, s)
    relatives = [c for c in candidates if c.person_id not in vetoed and relative_ssn(c)]
    if not relatives:
        return v
    owner = min(relatives, key=lambda c: (-c.match_weight, c.person_id))
    if v.outcome == "linked" and v.best is not None and v.best.person_id != owner.person_id:
        # Another person clearly wins on everything but the SSN: the SSN was a relative's
        # (or mis-keyed onto one); the link goes to that person, never to the SSN's owner.
        return v
    best = v.best or owner
    return _Verdict(
        "held",
        "the SSN belongs to a person whose name or birth date differs (a relative's SSN?)",
        best,
        owner if best.person_id != owner.person_id else v.runner_up,
        v.extra,
    )


def _plain_verdict(
    report: ReportReceived,
    candidates: Sequence[Candidate],
    vetoed: Collection[int],
    s: DecideSettings,
) -> _Verdict:
    vetoed_out = [c for c in candidates if c.person_id in vetoed]
    cands = sorted(
        (c for c in candidates if c.person_id not in vetoed),
        key=lambda c: (-c.match_weight, c.person_id),
    )
    note = [f"a reviewer undid the link to person {c.person_id}" for c in vetoed_out]
    if not cands:
        reason = "no candidate found" if not vetoed_out else "the only candidate was vetoed"
        return _Verdict("unlinked", reason, extra=note)
    best = cands[0]
    runner = cands[1] if len(cands) > 1 else None
    if best.probability < s.unlink_probability:
        return _Verdict(
            "unlinked",
            f"no likely candidate (best match probability {best.probability:.3f})",
            extra=note,
        )
    age = age_at(report.dob or best.dob, report.dod)
    if age is not None and age < s.minor_age and report.source_kind in s.minor_hold_sources:
        return _Verdict("held", f"the subject is a minor (age {age} at death)", best, runner, note)
    if best.level("first_name") == "null" and best.level("dob") == "null":
        return _Verdict(
            "held",
            "too little to confirm who it is: no first name and no birth date to compare",
            best,
            runner,
            note,
        )
    if runner is not None and best.match_weight - runner.match_weight < s.margin_weight:
        return _Verdict(
            "held",
            f"two close candidates (match weights {best.match_weight:.1f} and "
            f"{runner.match_weight:.1f})",
            best,
            runner,
            note,
        )
    if best.probability < s.link_probability:
        return _Verdict(
            "held",
            f"match probability {best.probability:.4f} below the automatic threshold "
            f"{s.link_probability}",
            best,
            runner,
            note,
        )
    return _Verdict("linked", "", best, runner, note)


def decide_link(
    report: ReportReceived,
    candidates: Sequence[Candidate],
    *,
    vetoed: Collection[int] = (),
    settings: DecideSettings | None = None,
    model_version: str = "",
) -> LinkResult:
    """The outcome for one report. A vetoed person is never linked to this report again."""
    s = settings or DecideSettings()
    v = _verdict(report, candidates, vetoed, s)
    best, runner = v.best, v.runner_up
    explanation: list[str] = []
    if best is not None:
        explanation = explain_lines(best)
        if runner is not None:
            explanation.append(
                f"runner-up: person {runner.person_id}, match weight {runner.match_weight:+.1f}"
            )
    explanation.extend(v.extra)
    return LinkResult(
        report_key=report.report_key,
        outcome=v.outcome,  # type: ignore[arg-type]
        reason=v.reason,
        person_id=best.person_id if best is not None else None,
        runner_up=runner.person_id if runner is not None else None,
        probability=best.probability if best is not None else None,
        match_weight=best.match_weight if best is not None else None,
        decided_by="model",
        model_version=model_version,
        weights=dict(best.weights) if best is not None else {},
        explanation=tuple(explanation),
    )
