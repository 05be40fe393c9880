"""SSN rules: the accepted forms, each never-issued rule, and the mis-key neighbours."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vitalfile import ssn
from vitalfile.errors import RecordError

nine_digits = st.text(alphabet="0123456789", min_size=9, max_size=9)


# ── parse ────────────────────────────────────────────────────────────────────────────────
@pytest.mark.parametrize(
    "text",
    ["123456789", "123-45-6789", "123-456789", "12345-6789", " 123-45-6789 ", "123456789\n"],
)
def test_parse_accepts_the_usual_forms(text: str) -> None:
    assert ssn.parse(text) == "123456789"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "12345678",
        "1234567890",
        "123-456-789",
        "12-345-6789",
        "123--45-6789",
        "123.45.6789",
        "abcdefghi",
        "123-45-678x",
        "SSN 123456789",
    ],
)
def test_parse_refuses_other_text(text: str) -> None:
    with pytest.raises(RecordError) as info:
        ssn.parse(text, field="ssn", line=7)
    err = info.value
    assert err.field == "ssn"
    assert err.line == 7
    assert err.message == "not a 9-digit SSN"


def test_parse_accepts_spaces_as_documented() -> None:
    assert ssn.parse("123 45 6789") == "123456789"


def test_parse_refuses_non_ascii_digits() -> None:
    with pytest.raises(RecordError):
        ssn.parse("١٢٣٤٥٦٧٨٩")


def test_parse_error_never_quotes_the_value() -> None:
    with pytest.raises(RecordError) as info:
        ssn.parse("98765432", line=3)
    assert "98765432" not in str(info.value)
    assert "98765432" not in repr(info.value.to_dict())


@given(nine_digits)
def test_parse_round_trips_both_forms(digits: str) -> None:
    assert ssn.parse(digits) == digits
    assert ssn.parse(ssn.format_ssn(digits)) == digits
    assert ssn.is_well_formed(ssn.format_ssn(digits))


def test_format_ssn() -> None:
    assert ssn.format_ssn("123456789") == "123-45-6789"


def test_is_well_formed() -> None:
    assert ssn.is_well_formed("123-45-6789")
    assert ssn.is_well_formed("000000000")  # well formed, though never issued
    assert not ssn.is_well_formed("12345")
    assert not ssn.is_well_formed("")


# ── never issued ─────────────────────────────────────────────────────────────────────────
@pytest.mark.parametrize(
    ("digits", "reason"),
    [
        ("000123456", "area 000 is never issued"),
        ("666123456", "area 666 is never issued"),
        ("900123456", "area 900-999 is never issued"),
        ("987654321", "area 900-999 is never issued"),
        ("999999999", "area 900-999 is never issued"),
        ("123004567", "group 00 is never issued"),
        ("123450000", "serial 0000 is never issued"),
        ("078051120", "a publicised example number, never issued to a person"),
        ("219099999", "a publicised example number, never issued to a person"),
    ],
)
def test_never_issued_reason_for_each_rule(digits: str, reason: str) -> None:
    assert ssn.never_issued_reason(digits) == reason


@pytest.mark.parametrize("digits", ["123456789", "001010001", "665999999", "899999999"])
def test_issuable_numbers_have_no_reason(digits: str) -> None:
    assert ssn.never_issued_reason(digits) is None


def test_area_rule_comes_before_group_and_serial() -> None:
    assert ssn.never_issued_reason("000000000") == "area 000 is never issued"
    assert ssn.never_issued_reason("123000000") == "group 00 is never issued"


@given(nine_digits)
def test_never_issued_matches_the_published_ranges(digits: str) -> None:
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    expected = (
        area in ("000", "666")
        or area >= "900"
        or group == "00"
        or serial == "0000"
        or digits in ("078051120", "219099999")
    )
    assert (ssn.never_issued_reason(digits) is not None) == expected


# ── neighbours ───────────────────────────────────────────────────────────────────────────
def test_single_digit_changes_are_81() -> None:
    changes = list(ssn.single_digit_changes("123456789"))
    assert len(changes) == 81
    assert len(set(changes)) == 81
    assert all(sum(a != b for a, b in zip(c, "123456789", strict=True)) == 1 for c in changes)


def test_transpositions_of_distinct_digits_are_8() -> None:
    swaps = list(ssn.transpositions("123456789"))
    assert swaps[0] == "213456789"
    assert swaps[-1] == "123456798"
    assert len(swaps) == 8


def test_equal_neighbouring_digits_give_no_swap() -> None:
    assert list(ssn.transpositions("111111111")) == []
    assert list(ssn.transpositions("112111111")) == ["121111111", "111211111"]
    assert len(ssn.neighbours("111111111")) == 81


@given(nine_digits)
def test_neighbours(digits: str) -> None:
    found = ssn.neighbours(digits)
    swaps = sum(digits[i] != digits[i + 1] for i in range(8))
    assert len(found) == 81 + swaps  # a swap changes two places, a slip one: no overlap
    assert len(set(found)) == len(found)
    assert digits not in found
    assert all(len(n) == 9 and n.isdigit() for n in found)
    assert found[:81] == list(ssn.single_digit_changes(digits))
    for n in found[81:]:
        diff = [i for i in range(9) if n[i] != digits[i]]
        assert len(diff) == 2 and diff[1] == diff[0] + 1
        assert n[diff[0]] == digits[diff[1]] and n[diff[1]] == digits[diff[0]]


@given(nine_digits)
def test_neighbourhood_is_symmetric(digits: str) -> None:
    for n in ssn.neighbours(digits)[::10]:
        assert digits in ssn.neighbours(n)


@given(st.integers(0, 999_999_999))
def test_never_issued_agrees_with_python_stdnum(n: int) -> None:
    from stdnum.us import ssn as stdnum_ssn

    digits = f"{n:09d}"
    assert (ssn.never_issued_reason(digits) is None) == stdnum_ssn.is_valid(digits)
