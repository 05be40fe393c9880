"""The relative's-SSN hold keeps its purpose and loses its false alarms (issue 15): twins,
juniors and a spouse's SSN stay held; a report whose only difference from the SSN's holder
is a typing error (a misspelt or swapped name, a nickname, a typed-over birth date) is not."""

from __future__ import annotations

import pytest

from vitalfile.events import ReportReceived
from vitalfile.intake.holds import (
    HoldFacts,
    Person,
    apply_holds,
    date_typo,
    first_name_variant,
    someone_else,
)
from vitalfile.link.base import LinkResult
from vitalfile.link.decide import DecideSettings

HOLDER = Person(1, ssn="212345678", first_name="MARIA", last_name="OYELARAN", dob="1944-03-08")


def _report(**changes: str) -> ReportReceived:
    fields = dict(ssn="212345678", first_name="MARIA", last_name="OYELARAN", dob="1944-03-08")
    fields.update(changes)
    return ReportReceived(
        report_key="S/1", source_kind="state", source_id="S", report_id="1", dod="2026-02-01",
        **fields,
    )  # fmt: skip


def _decided(r: ReportReceived) -> LinkResult:
    link = LinkResult(
        report_key=r.report_key,
        outcome="linked",
        person_id=1,
        probability=0.99999,
        match_weight=40.0,
        decided_by="model",
    )
    facts = HoldFacts(people={1: HOLDER}, by_ssn={HOLDER.ssn: [1]})
    (out,) = apply_holds([r], [link], facts, DecideSettings())
    return out


# ── stay held ──
def test_a_twins_ssn_is_held() -> None:
    """Born the same day, same surname, another first name: MARIO carries his twin's SSN."""
    r = _report(first_name="MARIO")
    assert someone_else(r, HOLDER)
    assert _decided(r).outcome == "held"
    assert _decided(_report(first_name="JOHANNA")).outcome == "held"


def test_opposite_sex_twins_one_letter_apart_are_held() -> None:
    john = Person(1, ssn="212345678", first_name="JOHN", last_name="OYELARAN", dob="1944-03-08")
    r = _report(first_name="JOAN")
    assert someone_else(r, john)


def test_a_juniors_report_on_his_fathers_ssn_is_held() -> None:
    father = Person(1, ssn="212345678", first_name="ROBERT", last_name="HILL", dob="1950-03-04")
    junior = _report(first_name="ROBERT", last_name="HILL", dob="1978-06-12", suffix="JR")
    assert someone_else(junior, father)
    # the same dates but the suffix says junior: still someone else
    assert someone_else(_report(first_name="ROBERT", last_name="HILL", suffix="JR"), father)


def test_a_spouses_ssn_is_held() -> None:
    r = _report(first_name="ROBERT", dob="1941-11-23")
    assert not first_name_variant(r, HOLDER) and not date_typo(r.dob, HOLDER.dob)
    assert _decided(r).outcome == "held"


# ── typing errors only: not held ──
@pytest.mark.parametrize(
    "changes",
    [
        {"first_name": "MARAI"},  # two neighbours swapped
        {"first_name": "MARIAO"},  # a stray letter after the final vowel
        {"first_name": "OYELARAN", "last_name": "MARIA"},  # first and last name reversed
        {"first_name": "OYELRAAN", "last_name": "MARIA"},  # reversed, one misspelt
        {"dob": "1944-08-03"},  # day and month swapped
        {"dob": "1945-03-08"},  # the year one off
        {"dob": "1944-03-18"},  # one digit
        {"dob": "1944-03-00"},  # a partial date that agrees
        {"dob": ""},  # unknown: no difference
    ],
)
def test_a_typing_error_alone_is_not_held(changes: dict[str, str]) -> None:
    r = _report(**changes)
    assert not someone_else(r, HOLDER)
    assert _decided(r).outcome == "linked"


def test_a_nickname_is_not_held() -> None:
    dolores = Person(1, ssn="212345678", first_name="DOLORES", last_name="KANE", dob="1931-05-02")
    assert not someone_else(
        _report(first_name="DOLLY", last_name="KANE", dob="1931-05-02"), dolores
    )


# ── the batch's order ──
@pytest.mark.parametrize("duplicate_first", [True, False])
def test_a_duplicate_certificate_is_decided_alike_wherever_it_stands(
    duplicate_first: bool,
) -> None:
    """Two state certificates of one death, one with a first name that reads as another
    person's (a relative's SSN?): once the clean one is linked, the duplicate lists no one new
    and links too — whether it comes before or after the clean one in the batch."""
    clean = _report()
    duplicate = ReportReceived(**{**_report(first_name="MARIO").model_dump(), "report_key": "S/2"})
    batch = [duplicate, clean] if duplicate_first else [clean, duplicate]
    links = [
        LinkResult(report_key=r.report_key, outcome="linked", person_id=1, probability=0.999,
                   match_weight=30.0, decided_by="model")
        for r in batch
    ]  # fmt: skip
    facts = HoldFacts(people={1: HOLDER}, by_ssn={HOLDER.ssn: [1]})
    out = {lr.report_key: lr for lr in apply_holds(batch, links, facts, DecideSettings())}
    assert out["S/1"].outcome == "linked"
    assert (out["S/2"].outcome, out["S/2"].person_id) == ("linked", 1)
    # alone, the same duplicate waits for a person
    (alone,) = apply_holds([duplicate], links[:1] if duplicate_first else links[1:], facts,
                           DecideSettings())  # fmt: skip
    assert alone.outcome == "held"
