"""Typing errors against different people: `typos.date_typo`, `typos.one_edit` and
`names.name_variant`, the helpers the relative's-SSN hold asks (issue 15)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vitalfile.link.names import (
    EXTRA_NICKNAMES,
    census_first_names,
    first_name_forms,
    name_variant,
)
from vitalfile.link.typos import date_typo, one_edit

_DAYS = st.dates(min_value=date(1900, 1, 1), max_value=date(2026, 12, 31))


# ── cases that are NOT variants: the relative's SSN the hold exists for ──
def test_twins_are_not_variants() -> None:
    # born the same day, different first names: the name tells them apart
    assert not name_variant("JOHN", "JAMES")
    assert not name_variant("MARIA", "MARIO")  # opposite-sex twins, one letter apart
    assert not name_variant("PAUL", "PAULA")
    assert not name_variant("DANIEL", "DANIELA")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("JOHN", "JOAN"),  # a man's and a woman's name one letter apart (1990 census lists)
        ("MARK", "MARY"),
        ("CARL", "CARA"),
        ("LOUIS", "LOUISE"),  # even where the nickname table relates them
        ("DAN", "DANA"),
        ("BEN", "KEN"),  # two three-letter names
        ("TIM", "TOM"),
        ("GIULIO", "GIULIA"),  # not in the census lists: the final vowel tells
    ],
)
def test_two_names_one_letter_apart_are_not_variants(a: str, b: str) -> None:
    assert not name_variant(a, b) and not name_variant(b, a)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("HOLLYO", "HOLLY"),  # a stray letter after a vowel: not a man's form of HOLLY
        ("SAR", "SARA"),  # a name cut short: SAR is no name
        ("KOB", "KOBE"),
        ("BNE", "BEN"),  # three letters, two swapped
        ("JZE", "JOE"),
        ("SARA", "SARAH"),
        ("ERIC", "ERIK"),
    ],
)
def test_a_typing_error_of_a_short_or_census_name_is_a_variant(a: str, b: str) -> None:
    assert name_variant(a, b) and name_variant(b, a)


def test_the_census_lists_say_which_sex_bears_a_name() -> None:
    known = census_first_names()
    assert known["JOHN"] == {"M"} and known["MARY"] == {"F"}  # stray entries aside
    assert known["TERRY"] == {"F", "M"}
    assert "HOLLYO" not in known and "KOB" not in known


def test_a_junior_is_not_a_typing_error_of_his_father() -> None:
    # the same name: the birth date (decades apart) and the suffix tell them apart
    assert name_variant("ROBERT", "ROBERT")
    assert not date_typo("1978-06-12", "1950-03-04")
    assert not date_typo("1978-03-04", "1950-03-04")  # same day and month, another year


def test_a_spouses_ssn_is_not_a_variant() -> None:
    assert not name_variant("MARY", "ROBERT")
    assert not name_variant("DOROTHY", "HAROLD")
    assert not date_typo("1944-03-08", "1941-11-23")


# ── typing errors, nicknames, swaps: variants ──
@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("DOLLY", "DOLORES"),
        ("Bill", "WILLIAM"),
        ("PEGGY", "MARGARET"),
        ("PACO", "FRANCISCO"),
        ("HAMISH", "HAMSIH"),  # two neighbours swapped
        ("CHANDLER", "CHANLER"),  # a letter dropped
        ("KATHERINE", "CATHERINE"),
        ("josé", "JOSE"),
    ],
)
def test_variants(a: str, b: str) -> None:
    assert name_variant(a, b) and name_variant(b, a)


def test_every_extra_nickname_reaches_its_names() -> None:
    for nick, names in EXTRA_NICKNAMES.items():
        for name in names:
            assert name in first_name_forms(nick)
            assert name_variant(nick, name)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("1950-03-04", "1950-04-03"),  # day and month swapped
        ("1950-03-04", "1951-03-04"),  # year one off
        ("1950-03-04", "1905-03-04"),  # two neighbouring digits swapped
        ("1950-03-04", "1950-03-14"),  # one digit
        ("1950-03-04", "1950-08-04"),
    ],
)
def test_date_typos(a: str, b: str) -> None:
    assert date_typo(a, b) and date_typo(b, a)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("1950-03-04", "1950-03-04"),  # the same date
        ("1950-03-04", ""),
        ("1950-03-00", "1950-03-04"),  # partial: not comparable as a typing error
        ("1950-03-04", "1962-11-27"),
        ("1950-03-04", "1948-03-04"),  # two years (and two digits)
        ("1950-03-04", "1950-12-25"),
    ],
)
def test_not_date_typos(a: str, b: str) -> None:
    assert not date_typo(a, b)


@given(_DAYS, st.integers(0, 7), st.integers(1, 9))
def test_one_digit_changed_is_a_typo(d: date, where: int, step: int) -> None:
    text = d.isoformat()
    pos = (0, 1, 2, 3, 5, 6, 8, 9)[where]
    typed = text[:pos] + str((int(text[pos]) + step) % 10) + text[pos + 1 :]
    try:
        date.fromisoformat(typed)
    except ValueError:
        return
    assert date_typo(text, typed) and date_typo(typed, text)


@given(_DAYS, st.integers(2, 20_000))
def test_dates_far_apart_are_no_typo_unless_they_look_it(d: date, days: int) -> None:
    other = d + timedelta(days=days)
    a, b = d.isoformat(), other.isoformat()
    differing = sum(x != y for x, y in zip(a, b, strict=True))
    swapped = a[:4] == b[:4] and a[5:7] == b[8:10] and a[8:10] == b[5:7]
    year_off = a[4:] == b[4:] and abs(int(a[:4]) - int(b[:4])) == 1
    if differing >= 3 and not swapped and not year_off:
        assert not date_typo(a, b)


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=12))
def test_one_edit_is_symmetric_and_never_the_same(s: str) -> None:
    assert not one_edit(s, s)
    dropped = s[1:]
    assert one_edit(s, dropped) == one_edit(dropped, s)
    assert one_edit(s, dropped) or not s
    if len(s) >= 2 and s[0] != s[1]:
        assert one_edit(s, s[1] + s[0] + s[2:])
