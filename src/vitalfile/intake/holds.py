"""The holds that keep a living person off the death file: one stage, after linking.

Every engine (the exact rule, Splink on DuckDB, Splink on Spark) only scores and proposes a
person; every door (CLI, HTTP API, console, VRDR messages, the library) hands its proposals
to `apply_holds`, which turns a proposed link into a hold when a person must look first:

- `minor`: the subject was under `minor_age` at death, reported by anyone but a state;
- `relative_ssn`: the report's SSN belongs to someone whose first name is a different name
  (not a variant, nickname, swap or typing error of it), whose birth date is a different date
  (not a typing error of it), or whose suffix says junior/senior where the report's does not;
- `no_ssn`: no usable SSN, from anyone but a state (namesakes cannot be told apart);
- `too_little`: no first name and no birth date to compare;
- `close_candidates`: the runner-up trails by less than `margin_weight`;
- `activity_after_death`: a lone family or financial report, and activity after its date;
- `death_on_file_missing`: the link leaned on a certified death that is not on file.

A state's certified death of the proposed person on the report's date (on file, or linked by
a state's report anywhere in the batch) lets `minor` and `relative_ssn` yield: linking such a
report lists no one dead who was not already. Pure given its inputs (`HoldFacts`);
`facts_for` reads them from the store.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from vitalfile.dates import age_on, latest_iso
from vitalfile.events import ReportReceived
from vitalfile.ledger.store import Store
from vitalfile.link.base import LinkResult, state_first
from vitalfile.link.decide import DecideSettings, dod_agreement
from vitalfile.link.names import name_variant, norm_name
from vitalfile.link.typos import date_typo as typo_of_date
from vitalfile.link.typos import one_edit

__all__ = [
    "HOLD_REASONS",
    "HoldFacts",
    "Person",
    "apply_holds",
    "date_typo",
    "facts_for",
    "first_name_variant",
]

HOLD_REASONS = {
    "minor": "the subject is a minor (age {age} at death)",
    "relative_ssn": "the SSN belongs to a person whose name or birth date differs (a relative's "
    "SSN?)",
    "no_ssn": "no usable SSN on a report from a {source} (namesakes cannot be told apart)",
    "too_little": "too little to confirm who it is: no first name and no birth date to compare",
    "close_candidates": "two close candidates (match weights {best:.1f} and {runner:.1f})",
    "activity_after_death": "activity on file after the stated date of death (a lone "
    "unverified report)",
    "death_on_file_missing": "matched against a certified death that is not on file",
}
_JUNIOR_SENIOR = re.compile(r"^(JR|SR|II|III|IV|V|2ND|3RD)$")


@dataclass(frozen=True)
class Person:
    """What the holds compare of a person on file."""

    person_id: int
    ssn: str = ""
    first_name: str = ""
    last_name: str = ""
    suffix: str = ""
    dob: str = ""


@dataclass
class HoldFacts:
    """What the stage reads from the file for one batch."""

    people: dict[int, Person] = field(default_factory=dict)  # proposed people and SSN holders
    by_ssn: dict[str, list[int]] = field(default_factory=dict)
    certified: dict[int, str] = field(default_factory=dict)  # current V deaths: person → dod
    last_activity: dict[int, str] = field(default_factory=dict)  # person → latest ISO date


_PERSON_COLS = ("person_id", "ssn", "first_name", "last_name", "suffix", "dob")


def facts_for(
    store: Store, reports: Sequence[ReportReceived], links: Sequence[LinkResult]
) -> HoldFacts:
    """The people, certified deaths and signs of life the holds need for this batch."""
    from vitalfile.intake.activity import latest_activity
    from vitalfile.link.onfile import verified_deaths

    facts = HoldFacts()
    reader = store.reader()
    ssns = sorted({r.ssn for r in reports if r.ssn and not r.ssn_flag})
    rows = reader.select_in("persons", _PERSON_COLS, "ssn", ssns) if ssns else []
    ids = sorted({lr.person_id for lr in links if lr.person_id is not None})
    rows += reader.select_in("persons", _PERSON_COLS, "person_id", ids) if ids else []
    for row in rows:
        p = Person(int(row[0]), *(str(v or "") for v in row[1:]))
        if p.person_id not in facts.people:
            facts.people[p.person_id] = p
            facts.by_ssn.setdefault(p.ssn, []).append(p.person_id)
    facts.certified = verified_deaths(store, facts.people)
    facts.last_activity = latest_activity(store, sorted(facts.people))
    return facts


# ── the comparisons (pure; the typing errors are link.typos and link.names) ───────────
def first_name_variant(report: ReportReceived, person: Person) -> bool:
    """The report's first name is the person's, or a nickname, typing error or swap of it
    (`names.name_variant`; first and last name reversed, one of them possibly misspelt).
    An unknown first name on either side is no difference; an initial alone is."""
    a, b = norm_name(report.first_name), norm_name(person.first_name)
    if not a or not b:
        return True
    if name_variant(a, b):
        return True
    report_last, person_last = norm_name(report.last_name), norm_name(person.last_name)
    surname = a == person_last or (min(len(a), len(person_last)) >= 4 and one_edit(a, person_last))
    return surname and name_variant(report_last, b)


def _partial(d: str) -> bool:
    return d[5:7] == "00" or d[8:10] == "00"


def date_typo(a: str, b: str) -> bool:
    """Two birth dates the same, or one a typing error of the other (`typos.date_typo`: one
    digit, day and month swapped, the year one off, two neighbouring digits swapped): not a
    different date. Unknown parts agree; the known parts of a partial date may hold one
    wrong digit."""
    if not a or not b or a == b:
        return True
    if _partial(a) or _partial(b):
        known = [0, 1, 2, 3]
        if a[5:7] != "00" and b[5:7] != "00":
            known += [5, 6]
        if a[8:10] != "00" and b[8:10] != "00":
            known += [8, 9]
        return sum(a[i] != b[i] for i in known) <= 1
    return typo_of_date(a, b)


def _junior_senior_differs(report: ReportReceived, person: Person) -> bool:
    a = norm_name(report.suffix).replace(".", "").replace(" ", "")
    b = norm_name(person.suffix).replace(".", "").replace(" ", "")
    return a != b and bool(_JUNIOR_SENIOR.match(a) or _JUNIOR_SENIOR.match(b))


def someone_else(report: ReportReceived, holder: Person) -> bool:
    """The SSN's holder is clearly not the report's subject (a relative's SSN?)."""
    return (
        not first_name_variant(report, holder)
        or not date_typo(report.dob, holder.dob)
        or _junior_senior_differs(report, holder)
    )


# ── the stage ─────────────────────────────────────────────────────────────────────────
def _held(link: LinkResult, rule: str, reason: str, **changes: object) -> LinkResult:
    return replace(
        link,
        outcome="held",
        reason=reason,
        explanation=(*link.explanation, f"held ({rule}): {reason}"),
        **changes,  # type: ignore[arg-type]
    )


def _hold_one(
    r: ReportReceived,
    link: LinkResult,
    facts: HoldFacts,
    certified: Mapping[int, str],
    s: DecideSettings,
) -> LinkResult:
    pid = link.person_id
    person = facts.people.get(pid) if pid is not None else None
    already_dead = pid is not None and bool(dod_agreement(r.dod, certified.get(pid, "")))
    holders = [
        facts.people[h]
        for h in facts.by_ssn.get(r.ssn, [])
        if r.ssn and not r.ssn_flag and h in facts.people
    ]
    relatives = [h for h in holders if someone_else(r, h)]
    linked = link.outcome == "linked"
    # A person other than the SSN's holder who wins clearly keeps the link (the SSN was a
    # relative's, or mis-keyed onto one); the holder already certified dead on this date
    # lists no one new; anything else about a relative's SSN waits for a person.
    other_wins = linked and pid not in {h.person_id for h in holders}
    if relatives and not other_wins and not (linked and already_dead):
        owner = relatives[0]
        best = pid if pid is not None else owner.person_id
        return _held(
            link,
            "relative_ssn",
            HOLD_REASONS["relative_ssn"],
            person_id=best,
            runner_up=owner.person_id if owner.person_id != best else link.runner_up,
        )
    if link.outcome != "linked" or pid is None:
        return link
    if r.source_kind != "state" and (not r.ssn or r.ssn_flag):
        return _held(link, "no_ssn", HOLD_REASONS["no_ssn"].format(source=_words(r.source_kind)))
    age = age_on(r.dob or (person.dob if person else ""), r.dod)
    if (
        age is not None
        and age < s.minor_age
        and r.source_kind in s.minor_hold_sources
        and not already_dead
    ):
        return _held(link, "minor", HOLD_REASONS["minor"].format(age=age))
    if not norm_name(r.first_name) and not r.dob:
        return _held(link, "too_little", HOLD_REASONS["too_little"])
    if (
        link.runner_up_weight is not None
        and link.match_weight is not None
        and link.match_weight - link.runner_up_weight < s.margin_weight
    ):
        return _held(
            link,
            "close_candidates",
            HOLD_REASONS["close_candidates"].format(
                best=link.match_weight, runner=link.runner_up_weight
            ),
        )
    seen = facts.last_activity.get(pid, "")
    if (
        r.source_kind in ("family", "financial")
        and seen
        and r.dod
        and pid not in certified
        and seen[:10] > latest_iso(r.dod)
    ):
        return _held(link, "activity_after_death", HOLD_REASONS["activity_after_death"])
    if link.weights.get("death_on_file") and pid not in certified:
        return _held(link, "death_on_file_missing", HOLD_REASONS["death_on_file_missing"])
    return link


def _words(source_kind: str) -> str:
    """A source kind in words, as a sentence names it ("a financial institution")."""
    return {"financial": "financial institution"}.get(source_kind, source_kind.replace("_", " "))


def apply_holds(
    reports: Sequence[ReportReceived],
    links: Sequence[LinkResult],
    facts: HoldFacts,
    settings: DecideSettings,
) -> list[LinkResult]:
    """Each proposal, held where a rule says a person must look first; in the batch's order.

    A state's reports are decided first: the deaths they certify count for the others, and
    for each other, wherever in the batch they stand (a duplicate certificate held before the
    certificate it duplicates is decided again once that one is linked). A certified death
    only ever lifts a hold, so this ends, and the batch's order does not change the outcome."""
    by_key = {lr.report_key: lr for lr in links}
    certified = dict(facts.certified)
    out: dict[str, LinkResult] = {}

    def decide(i: int) -> LinkResult:
        r = reports[i]
        lr = _hold_one(r, by_key[r.report_key], facts, certified, settings)
        out[r.report_key] = lr
        return lr

    order = state_first(reports)
    states = [i for i in order if reports[i].source_kind == "state"]
    pending = states
    while pending:
        grew = False
        for i in pending:
            lr, r = decide(i), reports[i]
            if lr.outcome == "linked" and lr.person_id is not None and r.dod:
                grew |= lr.person_id not in certified
                certified.setdefault(lr.person_id, r.dod)
        pending = (
            [i for i in states if out[reports[i].report_key].outcome == "held"] if grew else []
        )
    for i in order[len(states) :]:
        decide(i)
    return [out[r.report_key] for r in reports]
