"""From scored candidates to an outcome: linked, held for review, or unlinked. Pure.

Input: one report, its candidates as the model scored them (probability, match weight, the
level each comparison reached), the people a reviewer vetoed for it, the verified deaths
already on file among the candidates, and the thresholds. Output: a `LinkResult`. No
database, no model: the same inputs always give the same result.

This proposes; it never protects. The holds that keep a living person off the file (a minor,
a relative's SSN, no SSN, close candidates…) are `intake.holds`, applied after every engine.

A candidate whose death a state already certified, on the date the report gives, gains the
weight of that agreement (the model cannot see dates of death: people on file have none
until they die). `decide_batch` decides a batch's state reports first, so their deaths
count for the rest.
"""

from __future__ import annotations

import math
import os
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from typing import Any

from vitalfile.errors import ConfigError
from vitalfile.events import SOURCE_KINDS, ReportReceived
from vitalfile.link.base import LinkResult, state_first
from vitalfile.link.settings import CURRENT, level_words

__all__ = [
    "DECIDE_SETTINGS_HELP",
    "Candidate",
    "DecideSettings",
    "decide_batch",
    "decide_link",
    "dod_agreement",
    "explain_lines",
]

DECIDE_SETTINGS_HELP = {
    "link_probability": "lowest match probability linked without review",
    "unlink_probability": "below this the best candidate is no candidate: unlinked",
    "margin_weight": "how far (match weight) the runner-up must trail to link automatically",
    "minor_age": "subjects younger than this at death are held (see minor_hold_sources)",
    "minor_hold_sources": "source kinds whose reports about a minor are held (a state's "
    "certified death record is not)",
    "death_on_file_weight": "match weight added when the candidate's verified death on file "
    "has the report's date of death (m about 0.9, u about 1/365)",
    "death_on_file_month_weight": "the same when only year and month can be compared (a day "
    "unknown on either side; u about 1/12)",
}


@dataclass(frozen=True)
class DecideSettings:
    """The thresholds, chosen from the accuracy benchmark (see docs/accuracy.md)."""

    link_probability: float = 0.99
    unlink_probability: float = 0.001
    margin_weight: float = 8.0
    minor_age: int = 18
    minor_hold_sources: tuple[str, ...] = ("funeral_home", "family", "financial", "federal_agency")
    death_on_file_weight: float = 8.0
    death_on_file_month_weight: float = 3.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DecideSettings:
        """The defaults, each replaced by `VITALFILE_LINK_<NAME>` when that is set (a number;
        for `minor_hold_sources` a comma list of source kinds, empty for none)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"VITALFILE_LINK_{f.name.upper()}")
            if raw is None:
                continue
            if f.name == "minor_hold_sources":
                kinds = tuple(k.strip() for k in raw.split(",") if k.strip())
                unknown = [k for k in kinds if k not in SOURCE_KINDS]
                if unknown:
                    raise ConfigError(
                        f"unknown source kind; use some of {', '.join(SOURCE_KINDS)}",
                        field=f.name,
                    )
                values[f.name] = kinds
                continue
            try:
                number = int(raw) if f.name == "minor_age" else float(raw)
            except ValueError as exc:
                raise ConfigError("not a number", field=f.name) from exc
            values[f.name] = number
        s = cls(**values)
        if not 0.0 <= s.unlink_probability <= s.link_probability <= 1.0:
            raise ConfigError(
                "need 0 <= unlink_probability <= link_probability <= 1", field="link_probability"
            )
        return s


@dataclass(frozen=True)
class Candidate:
    """One person the model scored against a report."""

    person_id: int
    probability: float
    match_weight: float
    levels: dict[str, int]  # comparison -> gamma (Splink's level number; -1 is null)
    weights: dict[str, float]  # comparison (and tf_<comparison>, prior) -> match weight
    dob: str = ""  # the person's date of birth on file
    release: str = CURRENT  # the comparisons (model release) the levels are numbered by

    def level(self, comparison: str) -> str:
        return level_words(comparison, self.levels.get(comparison, -1), self.release)[2]


@dataclass(frozen=True)
class _Verdict:
    outcome: str
    reason: str = ""
    best: Candidate | None = None
    runner_up: Candidate | None = None
    extra: list[str] = field(default_factory=list)


def dod_agreement(reported: str, on_file: str) -> str:
    """How a report's date of death agrees with one on file: 'exact', 'month' or ''."""
    if len(reported) < 10 or len(on_file) < 10 or reported[:4] != on_file[:4]:
        return ""
    if reported[5:7] == "00" or reported[5:7] != on_file[5:7]:
        return ""
    if reported[8:10] == "00" or on_file[8:10] == "00":
        return "month"
    return "exact" if reported[8:10] == on_file[8:10] else ""


def _probability(weight: float) -> float:
    return 1.0 / (1.0 + math.pow(2.0, -weight)) if weight > -1000 else 0.0


def _with_deaths_on_file(
    report: ReportReceived,
    candidates: Sequence[Candidate],
    verified: Mapping[int, str],
    s: DecideSettings,
) -> tuple[list[Candidate], set[int]]:
    """Candidates with the weight of a verified death on the report's date added; and who."""
    if not verified or not report.dod:
        return list(candidates), set()
    out: list[Candidate] = []
    agreeing: set[int] = set()
    for c in candidates:
        level = dod_agreement(report.dod, verified.get(c.person_id, ""))
        if not level:
            out.append(c)
            continue
        bonus = s.death_on_file_weight if level == "exact" else s.death_on_file_month_weight
        weight = c.match_weight + bonus
        agreeing.add(c.person_id)
        out.append(
            replace(
                c,
                match_weight=weight,
                probability=_probability(weight),
                weights={**c.weights, "death_on_file": bonus},
            )
        )
    return out, agreeing


@lru_cache(maxsize=65_536)
def _level_line(name: str, gamma: int, w: float, tf: float | None, release: str = CURRENT) -> str:
    """One comparison in words (a model gives each level one weight: this repeats a lot)."""
    label, words, _ = level_words(name, gamma, release)
    text = f"{label}: {words}, {w:+.1f}"
    if tf is not None and abs(tf) >= 0.05:
        text += f" ({'rarer' if tf > 0 else 'more common'} name than most, {tf:+.1f})"
    return text


def explain_lines(c: Candidate, prior_weight: float | None = None) -> list[str]:
    """The waterfall in plain words: the prior, each comparison's level and weight, the end."""
    lines = []
    prior = c.weights.get("prior", prior_weight)
    if prior is not None:
        lines.append(f"starting point (any two records): {prior:+.1f}")
    for name, gamma in c.levels.items():
        lines.append(
            _level_line(
                name, gamma, c.weights.get(name, 0.0), c.weights.get(f"tf_{name}"), c.release
            )
        )
    on_file = c.weights.get("death_on_file")
    if on_file is not None:
        lines.append(
            f"death already on file: certified by a state, the same date of death, {on_file:+.1f}"
        )
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
    verified_deaths: Mapping[int, str] | None = None,
    settings: DecideSettings | None = None,
    model_version: str = "",
) -> LinkResult:
    """The outcome for one report. A vetoed person is never linked to this report again.

    `verified_deaths`: person id -> date of death, for candidates whose death a state has
    certified (on file, or linked earlier in the same batch by a state's report)."""
    s = settings or DecideSettings()
    scored, _ = _with_deaths_on_file(report, candidates, verified_deaths or {}, s)
    v = _verdict(report, scored, vetoed, s)
    best, runner = v.best, v.runner_up
    explanation: list[str] = []
    if best is not None:
        explanation = explain_lines(best)
        if runner is not None:
            explanation.append(
                f"runner-up: person {runner.person_id}, match weight {runner.match_weight:+.1f}"
            )
    elif scored:
        # nobody linked or held: the best candidates still say where a person could look
        for c in sorted(scored, key=lambda c: (-c.match_weight, c.person_id))[:3]:
            explanation.append(
                f"candidate: person {c.person_id}, match weight {c.match_weight:+.1f}, "
                f"match probability {c.probability:.3f}"
            )
    explanation.extend(v.extra)
    return LinkResult(
        report_key=report.report_key,
        outcome=v.outcome,  # type: ignore[arg-type]
        reason=v.reason,
        person_id=best.person_id if best is not None else None,
        runner_up=runner.person_id if runner is not None else None,
        runner_up_weight=runner.match_weight if runner is not None else None,
        probability=best.probability if best is not None else None,
        match_weight=best.match_weight if best is not None else None,
        decided_by="model",
        model_version=model_version,
        weights=dict(best.weights) if best is not None else {},
        explanation=tuple(explanation),
    )


def decide_batch(
    reports: Sequence[ReportReceived],
    candidates: Sequence[Sequence[Candidate]],
    *,
    vetoes: Mapping[str, Collection[int]] | None = None,
    verified_deaths: Mapping[int, str] | None = None,
    settings: DecideSettings | None = None,
    model_version: str = "",
) -> list[LinkResult]:
    """Every report's outcome, in the batch's order, whatever that order is.

    The state reports are decided first, against the verified deaths on file; the deaths
    they link (the earliest date when several) then count for the other reports."""
    on_file = dict(verified_deaths or {})
    out: list[LinkResult | None] = [None] * len(reports)

    def one(i: int, verified: Mapping[int, str]) -> LinkResult:
        r = reports[i]
        return decide_link(
            r,
            candidates[i],
            vetoed=(vetoes or {}).get(r.report_key, ()),
            verified_deaths=verified,
            settings=settings,
            model_version=model_version,
        )

    certified: dict[int, str] = {}
    verified: Mapping[int, str] = on_file
    for i in state_first(reports):
        r = reports[i]
        if r.source_kind != "state" and verified is on_file:  # the state's are all decided
            verified = {**certified, **on_file}
        lr = out[i] = one(i, verified)
        pid = lr.person_id
        if r.source_kind == "state" and lr.outcome == "linked" and pid is not None and r.dod:
            certified[pid] = min(r.dod, certified.get(pid, r.dod))
    return [lr for lr in out if lr is not None]
