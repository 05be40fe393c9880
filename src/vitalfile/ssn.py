"""SSN rules: parsing, the never-issued numbers and why, and the mis-key neighbours.

An SSN is kept as 9 digits (`AAAGGSSSS`). `parse` accepts `AAA-GG-SSSS` or 9 digits (spaces
and dashes where a person would type them). `never_issued_reason` says why a well-formed
number can never have been issued; `neighbours` lists the numbers one common keying slip
away (one digit changed, two neighbouring digits swapped), for linkage.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from vitalfile.errors import RecordError

__all__ = [
    "format_ssn",
    "is_well_formed",
    "neighbours",
    "never_issued_reason",
    "parse",
    "single_digit_changes",
    "transpositions",
]

_SHAPE = re.compile(r"^[0-9]{3}[- ]?[0-9]{2}[- ]?[0-9]{4}$")
# Numbers stdnum lists as never valid although their parts are: advertising examples.
_PUBLICISED = frozenset({"078051120", "219099999"})


def parse(text: str, *, field: str = "ssn", line: int | None = None) -> str:
    """Return the 9 digits of `text`, or raise RecordError (never quoting the value)."""
    if len(text) == 9 and text.isascii() and text.isdigit():
        return text  # the common case, without the cleaning below
    stripped = text.strip() if text else ""
    if not _SHAPE.match(stripped):
        raise RecordError("not a 9-digit SSN", field=field, line=line)
    return stripped.replace("-", "").replace(" ", "")


def is_well_formed(text: str) -> bool:
    """True when `text` has the shape of an SSN (issued or not)."""
    try:
        parse(text)
    except RecordError:
        return False
    return True


def never_issued_reason(digits: str) -> str | None:
    """Why the 9-digit `digits` can never have been issued, or None if it could have been."""
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    if area == "000":
        return "area 000 is never issued"
    if area == "666":
        return "area 666 is never issued"
    if area[0] == "9":
        return "area 900-999 is never issued"
    if group == "00":
        return "group 00 is never issued"
    if serial == "0000":
        return "serial 0000 is never issued"
    if digits in _PUBLICISED:
        return "a publicised example number, never issued to a person"
    return None


def format_ssn(digits: str) -> str:
    """`AAA-GG-SSSS` for 9 digits."""
    return f"{digits[:3]}-{digits[3:5]}-{digits[5:]}"


def single_digit_changes(digits: str) -> Iterator[str]:
    """Every number that differs from `digits` in exactly one position (81 of them)."""
    for i, old in enumerate(digits):
        for new in "0123456789":
            if new != old:
                yield digits[:i] + new + digits[i + 1 :]


def transpositions(digits: str) -> Iterator[str]:
    """Every number made by swapping two neighbouring, different digits of `digits`."""
    for i in range(len(digits) - 1):
        a, b = digits[i], digits[i + 1]
        if a != b:
            yield digits[:i] + b + a + digits[i + 2 :]


def neighbours(digits: str) -> list[str]:
    """The mis-key neighbours of an SSN: single-digit changes, then neighbour swaps."""
    seen: dict[str, None] = {}
    for n in single_digit_changes(digits):
        seen.setdefault(n)
    for n in transpositions(digits):
        seen.setdefault(n)
    return list(seen)
