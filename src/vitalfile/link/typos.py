"""Typing errors: whether two values differ only the way a slip of the keyboard makes them.

Pure and small: one edit between two strings, and the ways a birth date gets typed over
(one digit, two neighbouring digits swapped, day and month swapped, the year one off). The
relative's-SSN hold asks these to tell a typing error from a different person; the model's
birth-date levels say the same in SQL (`link.settings`). No SQL, no model, no I/O.
"""

from __future__ import annotations

__all__ = ["date_typo", "one_edit"]

_DIGITS = (0, 1, 2, 3, 5, 6, 8, 9)  # where the digits of YYYY-MM-DD are


def one_edit(a: str, b: str) -> bool:
    """`a` and `b` differ by exactly one typing error: a character replaced, added, dropped,
    or two neighbours swapped (Damerau-Levenshtein distance 1)."""
    if a == b:
        return False
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        i = diff[0]
        return len(diff) == 2 and diff[1] == i + 1 and a[i] == b[i + 1] and a[i + 1] == b[i]
    short, long_ = (a, b) if la < lb else (b, a)
    i = 0
    while i < len(short) and short[i] == long_[i]:
        i += 1
    return short[i:] == long_[i + 1 :]


def _full(d: str) -> bool:
    return (
        len(d) == 10
        and d[4] == "-"
        and d[7] == "-"
        and all(d[i].isdigit() for i in _DIGITS)
        and d[5:7] != "00"
        and d[8:10] != "00"
    )


def date_typo(a: str, b: str) -> bool:
    """Two full dates (YYYY-MM-DD) that differ only by a typing error: one digit, two
    neighbouring digits swapped, day and month swapped, or the year one off (day and month
    the same). The same date, a partial or missing one, or a different date: False."""
    if a == b or not (_full(a) and _full(b)):
        return False
    da = "".join(a[i] for i in _DIGITS)
    db = "".join(b[i] for i in _DIGITS)
    if one_edit(da, db):  # same length: one digit or two neighbours
        return True
    if a[:4] == b[:4] and a[5:7] == b[8:10] and a[8:10] == b[5:7]:
        return True  # day and month swapped
    return a[4:] == b[4:] and abs(int(a[:4]) - int(b[:4])) == 1
