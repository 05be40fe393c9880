"""Partial dates, ages, "today" and "as of": each written once, with one meaning everywhere.

A partial date is ISO text `YYYY-MM-DD` whose month or day may be `00` (unknown); `""` is a
wholly unknown date. Ages are whole years and *conservative*: a person counts as the youngest
the dates allow (born as late as the birth date can mean, on the earliest day `on` can mean),
so a rule that protects minors never lets an uncertain date make a child an adult.

"As of" a day means the end of that day (UTC): `as_of("2026-01-31")` covers everything
committed on 31 January. A full timestamp is taken as given. The CLI, the API and the console
all call `as_of`.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, timedelta

__all__ = [
    "DUE_DAYS",
    "add_days",
    "age_on",
    "as_of",
    "due_date",
    "earliest",
    "iso_now",
    "latest",
    "latest_iso",
    "latest_sql",
    "partial_date",
]

# how long each kind of case may stay open: calendar days from opening to the due date
# (working days are not modelled)
DUE_DAYS = {
    "review": 10,
    "dispute": 5,
    "determination": 30,
    "disclosure_request": 10,
    "research": 30,
}

_PARTIAL = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def partial_date(text: str) -> str:
    """Check a partial ISO date (`00` month or day allowed) and return it; '' stays ''."""
    if text == "":
        return ""
    if not _PARTIAL.match(text):
        raise ValueError("not a YYYY-MM-DD date")
    y, m, d = int(text[:4]), int(text[5:7]), int(text[8:10])
    if y == 0:
        raise ValueError("year 0000")
    if m == 0 and d != 0:
        raise ValueError("day given without month")
    if m > 12:
        raise ValueError("month out of range")
    if m and d:
        date(y, m, d)  # raises ValueError for 31 Feb and the like
    elif d > 31:
        raise ValueError("day out of range")
    return text


def earliest(d: str) -> date:
    """The earliest day a (non-empty) partial date can mean."""
    y, m, dd = int(d[:4]), int(d[5:7]) or 1, int(d[8:10]) or 1
    return date(y, m, dd)


def latest(d: str) -> date:
    """The latest day a (non-empty) partial date can mean."""
    y, m = int(d[:4]), int(d[5:7]) or 12
    dd = int(d[8:10]) or calendar.monthrange(y, m)[1]
    return date(y, m, dd)


def latest_iso(d: str) -> str:
    """The latest day a partial date can mean, as ISO text; unknown ('') is the far future."""
    return latest(d).isoformat() if d else "9999-12-31"


def latest_sql(col: str) -> str:
    """Portable SQL (substr, ||, CASE) for the latest day of a partial date column as ISO
    text; '' (unknown) is the far future. Unknown days count as the 31st: ISO text compares
    the same for every comparison the callers make (`<=` a real day)."""
    return (
        f"CASE WHEN {col} = '' THEN '9999-12-31' ELSE substr({col}, 1, 5) || "
        f"CASE WHEN substr({col}, 6, 2) = '00' THEN '12' ELSE substr({col}, 6, 2) END || '-' || "
        f"CASE WHEN substr({col}, 9, 2) = '00' THEN '31' ELSE substr({col}, 9, 2) END END"
    )


def age_on(dob: str, on: str | date) -> int | None:
    """Whole years of age on `on` (a partial date or a day), the youngest the dates allow;
    None when either is unknown."""
    if not dob or not on:
        return None
    born = latest(dob)
    day = on if isinstance(on, date) else earliest(on)
    years = day.year - born.year
    if (day.month, day.day) < (born.month, born.day):
        years -= 1
    return years


def iso_now(now: datetime | None = None) -> str:
    """A time as events store it: ISO UTC with microseconds."""
    when = now or datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def add_days(at: str, days: int) -> str:
    """The ISO day `days` after the day of `at` (an ISO day or time)."""
    day = date.fromisoformat(at[:10]) if at else date(1970, 1, 1)
    return (day + timedelta(days=days)).isoformat()


def as_of(text: str) -> str:
    """The ledger time an "as of" names, as stored ISO UTC text: a bare day is the end of
    that day; a timestamp (with `Z` or an offset, or none meaning UTC) is taken as given."""
    text = text.strip()
    if len(text) == 10:
        day = date.fromisoformat(text)
        return iso_now(datetime(day.year, day.month, day.day, 23, 59, 59, 999999, tzinfo=UTC))
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return iso_now(when)


def due_date(at: str, kind: str) -> str:
    """The due date of a case of `kind` opened at `at` (ISO time)."""
    return add_days(at, DUE_DAYS[kind])
