"""The fixed-width 100-character DMF record: parse, validate, format, read and write files.

Owns the field rules of both layouts (their columns are declared in `dmf_layout`): the one
SSA has written since November 2011 (columns 82-100 blank) and the one before it (state of
residence, ZIP of last residence, ZIP of lump-sum payment in columns 82-93).
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TextIO

from vitalfile.errors import FileRejected, RecordError
from vitalfile.events import partial_date
from vitalfile.sources._io import staged
from vitalfile.sources.dmf_layout import (
    LAYOUT_1980,
    LAYOUT_2011,
    LAYOUT_NAMES,
    NAME_COLUMNS,
    RECORD_LENGTH,
    RESIDENCE_FIELDS,
    Layout,
    layout_named,
)
from vitalfile.ssn import never_issued_reason

__all__ = [
    "ACTIONS",
    "LAYOUT",
    "LAYOUT_NAMES",
    "MIN_TRIMMED_LENGTH",
    "MIN_YEAR",
    "NAME_CHARACTERS",
    "PROOFS",
    "RECORD_LENGTH",
    "SUFFIX_WORDS",
    "DmfRecord",
    "clean_name",
    "format_record",
    "looks_like_dmf",
    "name_block",
    "padded",
    "parse_line",
    "read_dmf",
    "write_dmf",
]

# (field, first column 1-based, length) of the 2011 layout; the fields of DmfRecord + "filler".
LAYOUT: tuple[tuple[str, int, int], ...] = LAYOUT_2011.as_tuples()
ACTIONS: tuple[str, ...] = ("", "A", "C", "D")  # "" = blank: a full-file record
PROOFS: tuple[str, ...] = ("", "V", "P")
MIN_YEAR = 1850
NAME_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ -'.")
# A line whose trailing blanks were trimmed still holds the action code and the SSN.
MIN_TRIMMED_LENGTH = 10

_NAME_WIDTH = {f: LAYOUT_1980.column(f).length for f in NAME_COLUMNS}
_LABEL = {c.name: c.label for c in LAYOUT_1980.columns}
_BLANK_DATE = " " * 8
_ZERO_DATE = "0" * 8
_DIGITS = frozenset("0123456789")
_STATE_RE = re.compile("[A-Z]{2}|[0-9]{2}")
_ZIP_RE = re.compile("[0-9]{5}")
# What may follow the comma of `CARTER,` in the last-name columns besides blanks.
SUFFIX_WORDS: tuple[str, ...] = ("JR", "JR.", "SR", "SR.", "II", "III", "IV", "V", "VI")


@dataclass(frozen=True, slots=True)
class DmfRecord:
    """One DMF record, fields as text with the padding removed.

    `action` and `proof` are "" when blank. Names are as in the file (right padding removed).
    Dates are partial ISO text (`YYYY-MM-DD`, `00` for an unknown month or day) or "" when
    wholly unknown. A wholly unknown date can be written two ways, blank or `00000000`;
    `dod_zeros` / `dob_zeros` are True when it was (or is to be) written as `00000000`, so a
    file reads and writes back byte for byte. They are ignored when the date is not "".
    `residence_state`, `residence_zip` and `lump_sum_zip` are the pre-2011 layout's fields
    ("" when blank, and always in the 2011 layout).
    """

    action: str
    ssn: str
    last_name: str
    suffix: str
    first_name: str
    middle_name: str
    proof: str
    dod: str
    dob: str
    dod_zeros: bool = False
    dob_zeros: bool = False
    residence_state: str = ""
    residence_zip: str = ""
    lump_sum_zip: str = ""

    @property
    def layout(self) -> str:
        """'1980' when the record carries a pre-2011 field, else '2011' (the same bytes)."""
        if self.residence_state or self.residence_zip or self.lump_sum_zip:
            return "1980"
        return "2011"


# ── field rules (shared by parse and format) ─────────────────────────────────────────────
def _fail(message: str, field: str, line: int | None) -> RecordError:
    return RecordError(message, line=line, field=field)


def _check_ssn(ssn: str, line: int | None) -> None:
    if len(ssn) != 9 or not _DIGITS.issuperset(ssn):
        raise _fail("SSN is not 9 digits", "ssn", line)
    reason = never_issued_reason(ssn)
    if reason is not None:
        raise _fail(f"SSN cannot be valid: {reason}", "ssn", line)


def _check_name(name: str, field: str, line: int | None) -> None:
    """`name` without its right padding."""
    if not name:
        return
    if len(name) > _NAME_WIDTH[field]:
        raise _fail(
            f"{_LABEL[field]} is longer than its {_NAME_WIDTH[field]}-character field",
            field,
            line,
        )
    if name[0] == " ":
        raise _fail(f"{_LABEL[field]} is not left-justified", field, line)
    if not NAME_CHARACTERS.issuperset(name):
        raise _fail(
            f"{_LABEL[field]} has characters other than upper-case letters, space, "
            "hyphen, apostrophe and period",
            field,
            line,
        )


def _check_residence(field: str, value: str, line: int | None) -> None:
    """A pre-2011 field without its blanks ('' when blank)."""
    if value == "":
        return
    col = LAYOUT_1980.column(field)
    if field == "residence_state":
        if _STATE_RE.fullmatch(value) is None:
            raise _fail(
                f"state of residence (columns {col.columns}) is not two letters or two "
                "digits (or blank)",
                field,
                line,
            )
    elif _ZIP_RE.fullmatch(value) is None:
        raise _fail(f"{col.label} (columns {col.columns}) is not 5 digits (or blank)", field, line)


@lru_cache(maxsize=1 << 16)
def _iso_problem(iso: str) -> str:
    """'' when `iso` is an acceptable non-empty partial date, else the kind of problem."""
    try:
        partial_date(iso)
    except ValueError as exc:
        return str(exc)
    if int(iso[:4]) < MIN_YEAR:
        return f"year before {MIN_YEAR}"
    return ""


@lru_cache(maxsize=1 << 16)
def _read_date(raw: str) -> tuple[str, bool, str]:
    """MMDDYYYY text → (partial ISO date, written as zeros, problem or '')."""
    if raw == _BLANK_DATE:
        return "", False, ""
    if raw == _ZERO_DATE:
        return "", True, ""
    if not _DIGITS.issuperset(raw):
        return "", False, "is not MMDDYYYY digits (or blank)"
    iso = f"{raw[4:]}-{raw[:2]}-{raw[2:4]}"
    problem = _iso_problem(iso)
    if problem:
        return "", False, f"is not a valid date ({problem})"
    return iso, False, ""


def _write_date(iso: str, zeros: bool, field: str, line: int | None) -> str:
    if iso == "":
        return _ZERO_DATE if zeros else _BLANK_DATE
    if len(iso) != 10 or not iso.isascii():
        raise _fail(f"{_LABEL[field]} is not a YYYY-MM-DD date", field, line)
    problem = _iso_problem(iso)
    if problem:
        raise _fail(f"{_LABEL[field]} is not a valid date ({problem})", field, line)
    return iso[5:7] + iso[8:10] + iso[:4]


def _definitely_before(a: str, b: str) -> bool:
    """True when partial date `a` is surely earlier than `b` (unknown parts compare as maybe)."""
    if a[:4] != b[:4]:
        return a[:4] < b[:4]
    ma, mb = a[5:7], b[5:7]
    if ma == "00" or mb == "00":
        return False
    if ma != mb:
        return ma < mb
    da, db = a[8:], b[8:]
    if da == "00" or db == "00":
        return False
    return da < db


def _check_order(dod: str, dob: str, line: int | None) -> None:
    if dod and dob and _definitely_before(dod, dob):
        raise _fail("date of death is before date of birth", "dod", line)


def _layout(name: str | None) -> Layout:
    """The layout to read or write by; None reads both (a 2011 line is a 1980 line with
    blank geography) and writes the 1980 one only for a record that has such a field."""
    return layout_named(name) or LAYOUT_1980


# ── one record ───────────────────────────────────────────────────────────────────────────
_NAME_RE = "((?:[A-Z'.-][A-Z '.-]{%d})| {%d})"
_COMMON_RE = (
    "([ ACD])([0-9]{9})"
    + "".join(_NAME_RE % (width - 1, width) for width in _NAME_WIDTH.values())
    + "([ VP])([0-9]{8}| {8})([0-9]{8}| {8})"
)
# The shape of a good line in one match (the fast path); semantic checks follow in Python.
_GOOD_SHAPE = {
    "2011": re.compile(_COMMON_RE + " {19}(?:\r?\n)?"),
    "1980": re.compile(
        _COMMON_RE + "([A-Z]{2}|[0-9]{2}| {2})([0-9]{5}| {5})([0-9]{5}| {5}) {7}(?:\r?\n)?"
    ),
}


def padded(line: str) -> str:
    """`line` without its newline, and padded to 100 columns when its trailing blanks were
    trimmed (shorter, at least through the SSN, and not ending in a blank); else as it is."""
    if line.endswith("\n"):
        line = line[:-2] if line.endswith("\r\n") else line[:-1]
    if MIN_TRIMMED_LENGTH <= len(line) < RECORD_LENGTH and line[-1] != " ":
        return line.ljust(RECORD_LENGTH)
    return line


def looks_like_dmf(line: str) -> bool:
    """True when `line` (a file's first line) has the DMF shape: an action code and an SSN
    in columns 1-10 and at most 100 columns (fewer when trailing blanks were trimmed)."""
    line = padded(line)
    return len(line) == RECORD_LENGTH and line[0] in " ACD" and line[1:10].isdigit()


def parse_line(line: str, line_no: int | None = None, layout: str | None = None) -> DmfRecord:
    """The record in one 100-character line (a trailing \\n or \\r\\n is ignored; a line with
    its trailing blanks trimmed is padded back).

    `layout`: '2011' (columns 82-100 must be blank), '1980' (the pre-2011 fields), or None
    for either. Raises RecordError naming the line and the first bad field; never quotes
    the value.
    """
    lay = _layout(layout)
    m = _GOOD_SHAPE[lay.name].fullmatch(line)
    if m is None:
        return _parse_slowly(line, line_no, layout)  # finds and raises the first bad field
    action, ssn, last_name, suffix, first_name, middle_name, proof, raw_dod, raw_dob = m.groups()[
        :9
    ]
    reason = never_issued_reason(ssn)
    if reason is not None:
        raise _fail(f"SSN cannot be valid: {reason}", "ssn", line_no)
    dod, dod_zeros, problem = _read_date(raw_dod)
    if problem:
        raise _fail(f"date of death {problem}", "dod", line_no)
    dob, dob_zeros, problem = _read_date(raw_dob)
    if problem:
        raise _fail(f"date of birth {problem}", "dob", line_no)
    if dod and dob and _definitely_before(dod, dob):
        raise _fail("date of death is before date of birth", "dod", line_no)
    if lay is LAYOUT_1980:
        state, zip_, lump = m.group(10, 11, 12)
        state, zip_, lump = state.strip(" "), zip_.strip(" "), lump.strip(" ")
    else:
        state = zip_ = lump = ""
    return DmfRecord(
        "" if action == " " else action,
        ssn,
        last_name.rstrip(" "),
        suffix.rstrip(" "),
        first_name.rstrip(" "),
        middle_name.rstrip(" "),
        "" if proof == " " else proof,
        dod,
        dob,
        dod_zeros,
        dob_zeros,
        state,
        zip_,
        lump,
    )


def _surname(raw: str, suffix: str, line_no: int | None) -> tuple[str, str]:
    """(last name, suffix) from the last-name columns as written and the suffix column.

    SSA writes some surnames with a trailing comma (`CARTER,`): the comma ends the surname.
    A suffix written after it (`CARTER, JR`) is taken only when the suffix column is blank:
    the suffix column wins.
    """
    head, comma, tail = raw.partition(",")
    if not comma:
        return raw.rstrip(" "), suffix
    last = head.rstrip(" ")
    if not last:
        raise _fail("last name has a comma but no surname before it", "last_name", line_no)
    _check_name(last, "last_name", line_no)
    word = tail.strip(" ")
    if word and word not in SUFFIX_WORDS:
        raise _fail("last name has more than a name suffix after its comma", "last_name", line_no)
    return last, suffix or word


def _parse_slowly(line: str, line_no: int | None, layout: str | None = None) -> DmfRecord:
    """`parse_line` field by field, in column order, to name the first bad field."""
    lay = _layout(layout)
    line = padded(line)
    if len(line) != RECORD_LENGTH:
        raise _fail(
            f"record is {len(line)} characters long, expected {RECORD_LENGTH}", "record", line_no
        )
    action = line[0]
    if action not in " ACD":
        raise _fail("action code is not blank, A, C or D", "action", line_no)
    ssn = line[1:10]
    _check_ssn(ssn, line_no)
    suffix = line[30:34].rstrip(" ")
    last_name, suffix_read = _surname(line[10:30], suffix, line_no)
    _check_name(last_name, "last_name", line_no)
    _check_name(suffix, "suffix", line_no)
    first_name = line[34:49].rstrip(" ")
    _check_name(first_name, "first_name", line_no)
    middle_name = line[49:64].rstrip(" ")
    _check_name(middle_name, "middle_name", line_no)
    proof = line[64]
    if proof not in " VP":
        raise _fail("proof code is not blank, V or P", "proof", line_no)
    dod, dod_zeros, problem = _read_date(line[65:73])
    if problem:
        raise _fail(f"date of death {problem}", "dod", line_no)
    dob, dob_zeros, problem = _read_date(line[73:81])
    if problem:
        raise _fail(f"date of birth {problem}", "dob", line_no)
    geography = ["", "", ""]
    if lay is LAYOUT_1980:
        for i, field in enumerate(RESIDENCE_FIELDS):
            col = lay.column(field)
            geography[i] = line[col.lo : col.hi].strip(" ")
            _check_residence(field, geography[i], line_no)
    filler = lay.filler
    if line[filler.lo :] != " " * filler.length:
        raise _fail(f"{filler.label} are not blank", "filler", line_no)
    _check_order(dod, dob, line_no)
    return DmfRecord(
        action.strip(),
        ssn,
        last_name,
        suffix_read,
        first_name,
        middle_name,
        proof.strip(),
        dod,
        dob,
        dod_zeros,
        dob_zeros,
        *geography,
    )


def format_record(rec: DmfRecord, line_no: int | None = None, layout: str | None = None) -> str:
    """The 100-character line for `rec` (no newline); names are upper-cased and padded.

    `layout` '2011' leaves columns 82-100 blank (the pre-2011 fields are not written),
    '1980' writes them, None writes them when the record has them (the same bytes as
    '2011' otherwise). Raises RecordError for anything `parse_line` would refuse (a name
    too long for its field, bad characters, an invalid date, a never-issued SSN …).
    """
    lay = _layout(layout)
    if rec.action not in ACTIONS:
        raise _fail("action code is not blank, A, C or D", "action", line_no)
    _check_ssn(rec.ssn, line_no)
    names = []
    for field in NAME_COLUMNS:
        value = str(getattr(rec, field)).upper().rstrip(" ")
        _check_name(value, field, line_no)
        names.append(value.ljust(_NAME_WIDTH[field]))
    if rec.proof not in PROOFS:
        raise _fail("proof code is not blank, V or P", "proof", line_no)
    dod = _write_date(rec.dod, rec.dod_zeros, "dod", line_no)
    dob = _write_date(rec.dob, rec.dob_zeros, "dob", line_no)
    _check_order(rec.dod, rec.dob, line_no)
    tail = []
    if lay is LAYOUT_1980:
        for field in RESIDENCE_FIELDS:
            value = str(getattr(rec, field)).upper()
            _check_residence(field, value, line_no)
            tail.append(value.ljust(lay.column(field).length))
    tail.append(" " * lay.filler.length)
    return "".join((rec.action or " ", rec.ssn, *names, rec.proof or " ", dod, dob, *tail))


# ── files ────────────────────────────────────────────────────────────────────────────────
def _path_lines(path: str | os.PathLike[str]) -> Iterator[str]:
    # newline="\n": split on \n only and keep \r\n as written; surrogateescape keeps one
    # character per byte, so a non-ASCII byte fails its own field's check, not the file.
    with open(path, encoding="ascii", errors="surrogateescape", newline="\n") as fh:
        yield from fh


def read_dmf(
    source: str | os.PathLike[str] | Iterable[str],
    *,
    update: bool | None = None,
    layout: str | None = None,
) -> Iterator[DmfRecord | RecordError]:
    """One DmfRecord or RecordError per line of `source` (a path, or lines of text).

    `update=False`: a full file, every action blank; `True`: an update file, every action
    A, C or D; `None`: either, decided by the first good record, but never mixed.
    `layout`: '2011', '1980', or None for either (see `parse_line`).
    Reading never stops at a bad record.
    """
    _layout(layout)  # an unknown layout is refused before the first line
    file: str | None = None
    lines: Iterable[str]
    if isinstance(source, str | os.PathLike):
        file = os.fspath(source)
        lines = _path_lines(source)
    else:
        lines = source
    mode = update
    for line_no, line in enumerate(lines, 1):
        try:
            rec = parse_line(line, line_no, layout)
        except RecordError as err:
            yield err.in_file(file) if file is not None else err
            continue
        is_update = rec.action != ""
        if mode is None:
            mode = is_update
        elif is_update != mode:
            if update is None:
                message = "file mixes full-file (blank) and update (A, C, D) action codes"
            elif update:
                message = "action code is blank in an update file (must be A, C or D)"
            else:
                message = "action code is not blank in a full file"
            yield RecordError(message, line=line_no, field="action", file=file)
            continue
        yield rec


def write_dmf(
    records: Iterable[DmfRecord],
    out: str | os.PathLike[str] | TextIO,
    *,
    layout: str | None = None,
) -> int:
    """Write `records` as DMF lines ending in \\n to a path or text stream; return the count.

    `layout` as for `format_record`. All or nothing: if any record is refused, nothing is
    written and FileRejected lists every refused record (`line` = its 1-based position). A
    path is replaced atomically and, since it holds SSNs, created readable by its owner only.
    """
    _layout(layout)
    problems: list[RecordError] = []
    count = 0
    with staged(out) as sink:
        write = sink.write
        for count, rec in enumerate(records, 1):
            try:
                text = format_record(rec, count, layout)
            except RecordError as err:
                problems.append(err)
                continue
            if not problems:
                write(text + "\n")
        if problems:
            file = os.fspath(out) if isinstance(out, str | os.PathLike) else None
            raise FileRejected(problems, file=file)
    return count


def clean_name(text: str, width: int) -> str:
    """A name as the DMF layout carries it: upper case, no accents, only the allowed
    characters (others become spaces), left-justified, cut to `width` (no padding)."""
    if NAME_CHARACTERS.issuperset(text) and not text.startswith(" "):
        return text[:width].rstrip()
    plain = unicodedata.normalize("NFKD", text.upper())
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    kept = "".join(c if c in NAME_CHARACTERS else " " for c in plain).lstrip()
    return kept[:width].rstrip()


def name_block(last: str, suffix: str, first: str, middle: str) -> str:
    """Columns 11-64 of a record: the four name fields, cleaned and padded (54 characters)."""
    return (
        clean_name(last, 20).ljust(20)
        + clean_name(suffix, 4).ljust(4)
        + clean_name(first, 15).ljust(15)
        + clean_name(middle, 15).ljust(15)
    )
