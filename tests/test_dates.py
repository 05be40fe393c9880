"""Partial dates and ages: one meaning (dates.py) for holds, screening, determinations, tiers."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vitalfile.dates import age_on, as_of, due_date, earliest, latest, latest_iso, partial_date


def test_age_on_whole_dates() -> None:
    assert age_on("2010-05-04", "2026-05-03") == 15
    assert age_on("2010-05-04", "2026-05-04") == 16
    assert age_on("", "2026-01-01") is None
    assert age_on("2010-05-04", "") is None


def test_age_on_partial_dates_is_the_youngest_possible() -> None:
    # the disagreement issue 13 names: born 2007-00-00 is 17 on 2025-06-15 (could be 17 or 18)
    assert age_on("2007-00-00", "2025-06-15") == 17
    assert age_on("2007-06-00", "2025-06-15") == 17  # born as late as 30 June
    assert age_on("2007-06-00", "2025-07-01") == 18
    assert age_on("2007-06-10", "2025-06-00") == 17  # died as early as 1 June


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 12, 31)), st.integers(0, 120))
def test_age_on_matches_calendar_arithmetic(born: date, years: int) -> None:
    on_year = born.year + years
    on = date(on_year, 3, 1)
    expected = on_year - born.year - ((on.month, on.day) < (born.month, born.day))
    assert age_on(born.isoformat(), on) == expected


@given(
    st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 12, 31)),
    st.sampled_from(["day", "month", "none"]),
)
def test_partial_date_bounds_contain_the_day(day: date, blank: str) -> None:
    iso = day.isoformat()
    if blank == "day":
        iso = iso[:8] + "00"
    elif blank == "month":
        iso = iso[:5] + "00-00"
    assert partial_date(iso) == iso
    assert earliest(iso) <= day <= latest(iso)
    assert latest_iso(iso) == latest(iso).isoformat()


def test_partial_date_refuses_nonsense() -> None:
    for bad in ("2020-13-01", "2020-02-30", "0000-01-01", "2020-00-05", "20200101"):
        with pytest.raises(ValueError):
            partial_date(bad)
    assert latest_iso("") == "9999-12-31"
    assert latest("2024-02-00") == date(2024, 2, 29)


def test_as_of_a_day_is_the_end_of_that_day() -> None:
    assert as_of("2026-01-31") == "2026-01-31T23:59:59.999999Z"
    assert as_of("2026-01-31T10:00:00Z") == "2026-01-31T10:00:00.000000Z"
    assert as_of("2026-01-31T10:00:00+02:00") == "2026-01-31T08:00:00.000000Z"


def test_due_date_counts_calendar_days() -> None:
    assert due_date("2026-01-25T10:00:00Z", "review") == "2026-02-04"
    assert due_date("2026-01-25T10:00:00Z", "dispute") == "2026-01-30"
