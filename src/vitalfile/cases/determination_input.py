"""Determinations as an agency submits them, and the checks each must pass alone.

Reading a submission (one determination per line, every problem by line) and the pure check
that holds one for review (no authority, no date, a weak identity match, a minor, a subject
with a death on file). Nothing here appends.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from vitalfile.dates import age_on
from vitalfile.errors import RecordError
from vitalfile.events import IDENTITY_FIELDS
from vitalfile.link.base import LinkResult
from vitalfile.master.projection import PersonState
from vitalfile.sources.csv import iter_rows

__all__ = [
    "HEADER",
    "HOLD_REASONS",
    "MINOR_AGE",
    "STRONG_MATCH",
    "DeterminationIn",
    "check_determination",
    "read_determinations",
]

MINOR_AGE = 18
STRONG_MATCH = 0.999  # the linkage model's automatic-link probability (link.decide default)
HOLD_REASONS = {
    "authority": "legal authority missing",
    "minor": "subject is a minor",
    "age_unknown": "subject's age unknown (may be a minor)",
    "weak_match": "weak identity match",
    "no_match": "no person on file matches",
    "dead": "subject has a death on file",
    "no_date": "effective date missing",
}
_KIND = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
# Who a determination is about, as an agency names them (no suffix, no sex).
_IDENTITY = tuple(f for f in IDENTITY_FIELDS if f not in ("suffix", "sex"))
HEADER = (
    *_IDENTITY,
    "kind",
    "authority",
    "effective_date",
    "evidence_ref",
)


# ── input ─────────────────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class DeterminationIn:
    """One determination as an agency submitted it (one line of a bulk submission)."""

    ssn: str
    kind: str
    authority: str
    effective_date: str
    evidence_ref: str = ""
    first_name: str = ""
    middle_name: str = ""
    last_name: str = ""
    dob: str = ""
    line: int = 0

    def identity(self) -> dict[str, str]:
        return {f: getattr(self, f) for f in _IDENTITY}

    def determination_id(self, agency: str, origin: str) -> str:
        text = "|".join(
            (agency, origin, self.ssn, self.kind, self.effective_date, self.evidence_ref)
        )
        return "DT-" + hashlib.sha256(text.encode()).hexdigest()[:16]


def _iso_or_blank(text: str) -> bool:
    if text == "":
        return True
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def read_determinations(path: Path) -> tuple[list[DeterminationIn], list[RecordError]]:
    """A submission CSV (`ssn,first_name,middle_name,last_name,dob,kind,authority,
    effective_date,evidence_ref`): one determination per line, and every problem by line."""
    items: list[DeterminationIn] = []
    errors: list[RecordError] = []
    for item in iter_rows(path, HEADER):
        if isinstance(item, RecordError):
            errors.append(item)
            continue
        i, v = item
        ssn = v["ssn"]  # 9 digits: iter_rows parsed it
        if not (len(ssn) == 9 and ssn.isdigit()):
            errors.append(RecordError("not a 9-digit SSN", line=i, field="ssn", file=path.name))
            continue
        if not _KIND.match(v["kind"]):
            errors.append(
                RecordError("kind must be a lower-case word", line=i, field="kind", file=path.name)
            )
            continue
        bad = [f for f in ("dob", "effective_date") if not _iso_or_blank(v[f])]
        if bad:
            errors.append(RecordError("not an ISO date", line=i, field=bad[0], file=path.name))
            continue
        items.append(
            DeterminationIn(
                ssn=ssn,
                kind=v["kind"],
                authority=v["authority"],
                effective_date=v["effective_date"],
                evidence_ref=v["evidence_ref"],
                first_name=v["first_name"],
                middle_name=v["middle_name"],
                last_name=v["last_name"],
                dob=v["dob"],
                line=i,
            )
        )
    return items, errors


# ── the checks (pure) ─────────────────────────────────────────────────────────────────
def check_determination(
    item: DeterminationIn,
    link: LinkResult,
    person: PersonState | None,
    *,
    ssn_on_file: bool,
    today: date,
) -> list[str]:
    """Why this determination must be held for review ([] when it may be proposed).

    `person` is the person the linker linked it to (None unless linked); `ssn_on_file`
    says whether anyone on file has the SSN as supplied (a weak match, not no match).
    """
    reasons: list[str] = []
    if not item.authority.strip():
        reasons.append(HOLD_REASONS["authority"])
    if not item.effective_date:
        reasons.append(HOLD_REASONS["no_date"])
    if person is None or link.outcome != "linked":
        weak = link.outcome == "held" or link.person_id is not None or ssn_on_file
        reasons.append(HOLD_REASONS["weak_match" if weak else "no_match"])
    elif (link.probability is not None and link.probability < STRONG_MATCH) or (
        person.person is not None and person.person.get("ssn") != item.ssn
    ):
        # an adverse finding needs the SSN as supplied to be the person's own
        reasons.append(HOLD_REASONS["weak_match"])
    on = item.effective_date or today.isoformat()
    on_file = person.person.get("dob", "") if person is not None and person.person else ""
    ages = [a for a in (age_on(d, on) for d in (item.dob, on_file) if d) if a is not None]
    if not ages:
        reasons.append(HOLD_REASONS["age_unknown"])
    elif min(ages) < MINOR_AGE:
        reasons.append(HOLD_REASONS["minor"])
    if person is not None and person.death is not None and person.death.status == "current":
        reasons.append(HOLD_REASONS["dead"])
    return reasons
