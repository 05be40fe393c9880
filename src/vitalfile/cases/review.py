"""What a reviewer needs to decide a held report safely: the report beside each candidate,
field by field, with the model's reading of each field in words and its weight; which holds
protect a living person; and every decision's consequences said in words (whose death is
posted, at which level, whose is retracted).

It reads and explains; it decides nothing (`decide.decide` does) and renders nothing (the
doors do). A model that cannot score (no model installed, a query that fails) leaves the
side-by-side fields in place, with the stored weights of the held event where there are some.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vitalfile.cases.framework import CaseState
from vitalfile.errors import VitalfileError
from vitalfile.events import (
    NAME_FIELDS,
    AccessCodeFailed,
    AccessCodeIssued,
    AccessCodeUsed,
    CaseDecided,
    CorrectionQueued,
    DeathCorroborated,
    DeathPosted,
    DeathRetracted,
    DeathUpdated,
    Event,
    LinkUndone,
    ReportHeld,
    ReportLinked,
    ReportUnlinked,
)
from vitalfile.ledger.store import Store
from vitalfile.master.projection import PersonState, ReportState, load_people, load_reports

if TYPE_CHECKING:  # decide imports this module (the protective holds a confirm step names)
    from vitalfile.cases.decide import DecideResult

__all__ = [
    "PROTECTIVE_HOLDS",
    "CandidateSheet",
    "Change",
    "FieldRow",
    "ReviewSheet",
    "describe",
    "level_words",
    "person_name",
    "protective_hold",
    "review_sheet",
]

log = logging.getLogger("vitalfile.cases.review")

# the holds that keep a living person off the file: linking anyway needs a stated reason
PROTECTIVE_HOLDS = {
    "minor": "the subject is a minor: posting this death lists a child as dead",
    "relative_ssn": (
        "the SSN may be a relative's: posting this death may list the SSN's living owner as dead"
    ),
    "no_ssn": "the report has no usable SSN: nothing but names and dates tie it to the person",
}

_LEVELS = {
    "V": "V (verified: a state's certified death record)",
    "P": "P (proof not verified: reported by a source other than a state)",
}
_SOURCES = {
    "state": "a state vital records office",
    "funeral_home": "a funeral home",
    "family": "a family member",
    "financial": "a financial institution",
    "federal_agency": "a federal agency",
}


def level_words(proof: str) -> str:
    """A verification level in words."""
    return _LEVELS.get(proof, proof or "no level")


def person_name(fields: dict[str, Any] | None) -> str:
    """A person's name as a reader writes it (first middle last suffix)."""
    if not fields:
        return ""
    parts = (fields.get(k) or "" for k in NAME_FIELDS)
    return " ".join(p for p in parts if p)


def protective_hold(case: CaseState, report: ReportState | None) -> str:
    """Why linking this held report could list a living person as dead ('' when no
    protective hold applies): a minor, a relative's SSN, or no usable SSN."""
    if case.kind != "review" or case.about.startswith("death:"):
        return ""
    reason = case.reason.lower()
    if "minor" in reason:
        return PROTECTIVE_HOLDS["minor"]
    if "relative" in reason:
        return PROTECTIVE_HOLDS["relative_ssn"]
    f = report.fields if report is not None else {}
    if "ssn" in reason and ("unusable" in reason or "no ssn" in reason):
        return PROTECTIVE_HOLDS["no_ssn"]
    if report is not None and (not f.get("ssn") or f.get("ssn_flag")):
        return PROTECTIVE_HOLDS["no_ssn"]
    return ""


# ── the side-by-side sheet ────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class FieldRow:
    """One field of the report beside the same field of a candidate."""

    label: str
    report: str
    person: str
    reading: str = ""  # the model's reading in words ("one digit different")
    weight: float | None = None  # its match weight (term-frequency adjustment included)
    digits: tuple[tuple[str, bool], ...] = ()  # SSN: each person digit, differing or not


@dataclass
class CandidateSheet:
    person_id: int
    name: str
    role: str  # "best candidate", "runner-up", "another candidate"
    alive: bool
    rows: list[FieldRow]
    prior: float | None = None
    extra: list[tuple[str, float]] = field(default_factory=list)  # beyond the fields
    total: float | None = None
    probability: float | None = None

    def bars(self) -> list[tuple[str, float]]:
        """The waterfall's steps, prior first (the total is their sum)."""
        out: list[tuple[str, float]] = []
        if self.prior is not None:
            out.append(("starting point", self.prior))
        out += [(r.label, r.weight) for r in self.rows if r.weight is not None]
        out += self.extra
        return out


@dataclass
class ReviewSheet:
    report: dict[str, str]
    candidates: list[CandidateSheet]
    protective: str = ""
    model_error: str = ""


# (label, report field, person field, model comparison)
_FIELDS: tuple[tuple[str, str, str, str], ...] = (
    ("SSN", "ssn", "ssn", "ssn"),
    ("first name", "first_name", "first_name", "first_name"),
    ("middle name", "middle_name", "middle_name", ""),
    ("last name", "last_name", "last_name", "last_name"),
    ("former names", "", "former_names", ""),
    ("sex", "sex", "sex", "sex"),
    ("birth date", "dob", "dob", "dob"),
    ("place", "death_state", "state", "state"),
)


def _digits(report_ssn: str, person_ssn: str) -> tuple[tuple[str, bool], ...]:
    if not person_ssn:
        return ()
    return tuple((d, i >= len(report_ssn) or report_ssn[i] != d) for i, d in enumerate(person_ssn))


def _scored(store: Store, report_key: str) -> tuple[dict[int, Any], dict[int, Any], str]:
    """The model's candidates for the report (person id -> Candidate), the decided weights of
    the best (with a death on file counted), and an error in words ('' when it scored)."""
    try:
        from vitalfile.intake.explain import load_report
        from vitalfile.link.onfile import decide_on_file, vetoes_of
        from vitalfile.link.splink_linker import SplinkLinker

        linker = SplinkLinker()
        r = load_report(store, report_key)
        vetoes = vetoes_of(store, [r.report_key])
        scored = linker.score(store, [r], vetoes=vetoes)
        cands = {c.person_id: c for c in scored.candidates[0]}
        (result,) = decide_on_file(
            store,
            [r],
            [scored.candidates[0]],
            vetoes=vetoes,
            settings=linker.settings,
            model_version=linker.version,
        )
        decided = {result.person_id: result} if result.person_id is not None else {}
        return cands, decided, ""
    except VitalfileError as exc:
        return {}, {}, exc.message
    except ImportError:
        return {}, {}, "the linkage model is not installed"
    except Exception as exc:  # the sheet still shows both sides
        log.warning("scoring %s failed: %s", report_key, type(exc).__name__)
        return {}, {}, f"the model could not score this report ({type(exc).__name__})"


def _held_event(store: Store, report: ReportState) -> ReportHeld | None:
    held = None
    for se in store.iter_events(after_seq=report.received_seq - 1, types=[ReportHeld.type]):
        if isinstance(se.event, ReportHeld) and se.event.report_key == report.report_key:
            held = se.event
    return held


def review_sheet(store: Store, case: CaseState, *, score: bool = True) -> ReviewSheet | None:
    """The report and every candidate side by side, with the model's reading of each field
    (None when the case is not about a report)."""
    from vitalfile.link.settings import level_words as model_level_words

    reports = load_reports(store, [case.about])
    report = reports.get(case.about)
    if report is None:
        return None
    rf = {k: ("" if v is None else str(v)) for k, v in report.fields.items()}
    cands, decided, error = _scored(store, case.about) if score else ({}, {}, "")
    held = _held_event(store, report) if not cands else None
    ids: list[int] = []
    for pid in (case.person_id, held.runner_up if held else None, *cands):
        if pid is not None and pid not in ids:
            ids.append(pid)
    if not ids and rf.get("ssn"):  # no model and no stored candidate: the SSN's holders
        from vitalfile.master.projection import find_person_ids

        ids = find_person_ids(store, rf["ssn"])
    ids = ids[:4]
    people = load_people(store, ids)
    sheets: list[CandidateSheet] = []
    for i, pid in enumerate(ids):
        st: PersonState | None = people.get(pid)
        pf = {
            k: ("" if v is None else str(v)) for k, v in ((st.person if st else None) or {}).items()
        }
        c = cands.get(pid)
        weights: dict[str, float] = dict(c.weights) if c is not None else {}
        if pid in decided:
            weights = dict(decided[pid].weights) or weights
        elif c is None and held is not None and held.person_id == pid:
            weights = dict(held.weights)
        rows: list[FieldRow] = []
        for label, rkey, pkey, comp in _FIELDS:
            reading, w = "", None
            if comp and c is not None:
                _, reading, _ = model_level_words(comp, c.levels.get(comp, -1))
            if comp and comp in weights:
                w = weights[comp] + weights.get(f"tf_{comp}", 0.0)
                tf = weights.get(f"tf_{comp}")
                if tf is not None and abs(tf) >= 0.05 and reading:
                    reading += f" ({'a rarer' if tf > 0 else 'a more common'} name than most)"
            rv = rf.get(rkey, "") if rkey else ""
            pv = pf.get(pkey, "")
            if pkey == "former_names":
                pv = pv.replace(";", ", ")
                if not pv:
                    continue
            rows.append(
                FieldRow(
                    label,
                    rv,
                    pv,
                    reading,
                    w,
                    _digits(rv, pv) if pkey == "ssn" else (),
                )
            )
        extra: list[tuple[str, float]] = []
        if "death_on_file" in weights:
            extra.append(("death already on file", weights["death_on_file"]))
        prior = weights.get("prior")
        total = None
        if weights:
            total = (prior or 0.0) + sum(r.weight for r in rows if r.weight is not None)
            total += sum(w for _, w in extra)
        prob = (
            decided[pid].probability
            if pid in decided
            else (c.probability if c is not None else None)
        )
        if prob is None and held is not None and held.person_id == pid:
            prob = held.match_probability
        role = (
            "best candidate"
            if pid == case.person_id or (case.person_id is None and i == 0)
            else "runner-up"
            if held is not None and pid == held.runner_up
            else "another candidate"
        )
        death = st.death if st else None
        sheets.append(
            CandidateSheet(
                person_id=pid,
                name=person_name(pf),
                role=role,
                alive=death is None or death.status != "current",
                rows=rows,
                prior=prior,
                extra=extra,
                total=total,
                probability=prob,
            )
        )
    return ReviewSheet(
        report={**rf, "report_key": report.report_key},
        candidates=sheets,
        protective=protective_hold(case, report),
        model_error=error,
    )


# ── consequences in words ─────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class Change:
    """One change to the file in words, and whose record it is."""

    text: str
    person_id: int | None = None
    name: str = ""


def describe(store: Store, events: Sequence[Event]) -> list[Change]:
    """What these events do to the file, in words, one line each, naming whose record."""
    pids = {getattr(e, "person_id", None) for e in events}
    people = load_people(store, [p for p in pids if isinstance(p, int)])

    def who(pid: int | None) -> str:
        if pid is None:
            return "no one"
        st = people.get(pid)
        return person_name(st.person if st else None) or f"person {pid}"

    out: list[Change] = []
    for e in events:
        pid = getattr(e, "person_id", None)
        name = who(pid) if isinstance(pid, int) else ""
        text = ""
        if isinstance(e, DeathPosted):
            text = (
                f"The death of {name} is posted: died {e.dod or 'on an unknown date'}, "
                f"level {level_words(e.proof)}, reported by "
                f"{_SOURCES.get(e.source_kind, e.source_kind)}."
            )
        elif isinstance(e, DeathCorroborated):
            text = (
                f"The death of {name}, already on file, is corroborated by a report from "
                f"{_SOURCES.get(e.source_kind, e.source_kind)}."
            )
        elif isinstance(e, DeathUpdated):
            text = f"The death of {name} now reads: died {e.dod}, level {level_words(e.proof)}."
        elif isinstance(e, DeathRetracted):
            text = f"The death of {name} is retracted: the file now lists them as alive."
        elif isinstance(e, ReportLinked):
            text = f"Report {e.report_key} is linked to {name}."
        elif isinstance(e, LinkUndone):
            text = f"Report {e.report_key} is no longer linked to {name} ({e.reason})."
        elif isinstance(e, ReportUnlinked):
            text = f"Report {e.report_key} is left linked to no one."
        elif isinstance(e, CorrectionQueued):
            text = (
                f"A correction about {name} is queued for "
                f"{', '.join(e.recipients)} (each recipient that holds the death)."
            )
        elif isinstance(e, AccessCodeIssued):
            text = f"A one-time access code for {name} was printed on a notice (until {e.expires})."
        elif isinstance(e, AccessCodeUsed):
            text = f"{name} opened their own record with the code from their notice."
        elif isinstance(e, AccessCodeFailed):
            text = f"Someone gave {name}'s access code with another SSN (refused)."
        elif isinstance(e, CaseDecided):
            continue
        else:
            text = f"{e.type} recorded."
        out.append(Change(text, pid if isinstance(pid, int) else None, name))
    return out


def describe_result(store: Store, result: DecideResult) -> list[Change]:
    """A decision's consequences in words."""
    return describe(store, result.appended)
