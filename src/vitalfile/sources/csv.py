"""The canonical CSV interchange files (people, reports): exact headers, row rules, read/write.

Values are kept as written (no case changes) so a canonical file writes back byte for byte.
The people file's last column, `former_names`, is optional on read (files made before it
existed load as they are); the writers always write the full header.
"""

from __future__ import annotations

import csv
import functools
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields, replace
from datetime import datetime
from pathlib import Path
from typing import TextIO, TypeVar

import us

from vitalfile import ssn as ssn_rules
from vitalfile.errors import FileRejected, RecordError
from vitalfile.events import PERSON_FIELDS, REPORT_FIELDS, SOURCE_KINDS, partial_date
from vitalfile.sources._io import staged

__all__ = [
    "FORMER_NAMES_SEPARATOR",
    "PEOPLE_COLUMNS",
    "PEOPLE_COLUMNS_WITHOUT_FORMER",
    "REPORT_COLUMNS",
    "SEXES",
    "STATE_CODES",
    "PersonRow",
    "ReportRow",
    "check_person",
    "iter_rows",
    "read_people",
    "read_reports",
    "write_people",
    "write_reports",
]

PEOPLE_COLUMNS: tuple[str, ...] = PERSON_FIELDS
# A people file may leave out the trailing `former_names` column (older files).
PEOPLE_COLUMNS_WITHOUT_FORMER: tuple[str, ...] = PEOPLE_COLUMNS[:-1]
FORMER_NAMES_SEPARATOR = ";"
# The report's key, then what it claims as written (`ssn_flag` is ours, not a column).
REPORT_COLUMNS: tuple[str, ...] = (
    "report_id",
    "source_kind",
    "source_id",
    *(f for f in REPORT_FIELDS if f != "ssn_flag"),
)
SEXES: tuple[str, ...] = ("M", "F", "U", "")
# USPS codes: the states, DC and the territories, the freely associated states, and the
# armed-forces "states" used in addresses (AA, AE, AP).
STATE_CODES: frozenset[str] = frozenset(
    {s.abbr for s in us.states.STATES_AND_TERRITORIES}
    | {"DC", "PR", "GU", "VI", "AS", "MP", "FM", "MH", "PW", "AA", "AE", "AP"}
)

_LABEL = {
    "ssn": "SSN",
    "dob": "date of birth",
    "dod": "date of death",
    "sex": "sex",
    "birth_state": "birth state",
    "state": "state",
    "death_state": "death state",
    "zip": "ZIP code",
    "former_names": "former names",
    "report_id": "report id",
    "source_kind": "source kind",
    "source_id": "source id",
    "reported_at": "reported-at time",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NOT_UTF8 = re.compile(r"[\udc80-\udcff]")  # bytes kept by errors="surrogateescape"
_BAD_TEXT = re.compile(r"[\x00-\x1f\x7f\udc80-\udcff]")
_ZIP = re.compile(r"[0-9]{5}(?:-[0-9]{4})?")


@dataclass(frozen=True, slots=True)
class PersonRow:
    """One row of a people file, every value as written (the SSN as 9 digits once read).

    `former_names`: surnames the person was known by before (a maiden name, an earlier
    married name), separated by ";" ("" when none), as a name history records them.
    """

    ssn: str
    first_name: str = ""
    middle_name: str = ""
    last_name: str = ""
    suffix: str = ""
    dob: str = ""
    sex: str = ""
    birth_state: str = ""
    address: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""
    former_names: str = ""


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One row of a reports file, values as written; `ssn_flag` is not a column.

    A report is kept even when its SSN is unusable: `ssn` is then the 9 digits when they can
    be read (a never-issued number) or "", and `ssn_flag` says why ("" when the SSN is fine).
    """

    report_id: str
    source_kind: str
    source_id: str
    ssn: str = ""
    first_name: str = ""
    middle_name: str = ""
    last_name: str = ""
    suffix: str = ""
    dob: str = ""
    dod: str = ""
    sex: str = ""
    death_state: str = ""
    reported_at: str = ""
    ssn_flag: str = ""


# ── row rules (shared by readers and writers) ────────────────────────────────────────────
@functools.cache
def _field_names(row_type: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(row_type))


def _label(field: str) -> str:
    return _LABEL.get(field, field.replace("_", " "))


def _check_text(values: dict[str, str], line: int | None) -> None:
    for field, value in values.items():
        if not isinstance(value, str):
            raise RecordError(f"{_label(field)} is not text", line=line, field=field)
        if _BAD_TEXT.search(value):
            kind = "bytes that are not UTF-8" if _NOT_UTF8.search(value) else "a control character"
            raise RecordError(f"{_label(field)} contains {kind}", line=line, field=field)


def _check_date(value: str, field: str, line: int | None) -> None:
    if value and not value.isascii():
        raise RecordError(f"{_label(field)} is not a YYYY-MM-DD date", line=line, field=field)
    try:
        partial_date(value)
    except ValueError as exc:
        raise RecordError(
            f"{_label(field)} is not a valid date ({exc})", line=line, field=field
        ) from None


def _check_code(
    value: str, allowed: Iterable[str], what: str, field: str, line: int | None
) -> None:
    if value and value not in allowed:
        raise RecordError(f"{_label(field)} is not {what}", line=line, field=field)


def _parse_ssn(text: str, line: int | None) -> str:
    digits = ssn_rules.parse(text, line=line)
    if not digits.isascii():  # ssn.parse lets other scripts' digits through
        raise RecordError("not a 9-digit SSN", field="ssn", line=line)
    return digits


def _check_person(row: PersonRow, line: int | None) -> PersonRow:
    """`row` with its SSN as 9 digits, or RecordError for the first bad field."""
    _check_text({n: getattr(row, n) for n in _field_names(PersonRow)}, line)
    if not row.ssn:
        raise RecordError("SSN is missing", line=line, field="ssn")
    digits = _parse_ssn(row.ssn, line)
    reason = ssn_rules.never_issued_reason(digits)
    if reason is not None:
        raise RecordError(f"SSN cannot be valid: {reason}", line=line, field="ssn")
    _check_date(row.dob, "dob", line)
    _check_code(row.sex, SEXES, "M, F, U or empty", "sex", line)
    _check_code(row.birth_state, STATE_CODES, "a US state or territory code", "birth_state", line)
    _check_code(row.state, STATE_CODES, "a US state or territory code", "state", line)
    if row.zip and not _ZIP.fullmatch(row.zip):
        raise RecordError("ZIP code is not 5 digits or ZIP+4", line=line, field="zip")
    return row if digits == row.ssn else replace(row, ssn=digits)


def check_person(row: PersonRow, line: int | None = None) -> PersonRow:
    """`row` as the people reader takes it (the SSN as 9 digits), or RecordError for the
    first bad field (never quoting a value)."""
    return _check_person(row, line)


def _ssn_and_flag(text: str) -> tuple[str, str]:
    """A report's SSN as (9 digits or "", why it is unusable or "")."""
    if not text:
        return "", "no SSN given"
    try:
        digits = _parse_ssn(text, None)
    except RecordError as err:
        return "", err.message
    return digits, ssn_rules.never_issued_reason(digits) or ""


def _check_report(row: ReportRow, line: int | None) -> ReportRow:
    """`row` with `ssn` / `ssn_flag` settled, or RecordError for the first bad field."""
    _check_text({n: getattr(row, n) for n in _field_names(ReportRow)}, line)
    for field in ("report_id", "source_kind", "source_id"):
        if not getattr(row, field):
            raise RecordError(f"{_label(field)} is missing", line=line, field=field)
    _check_code(row.source_kind, SOURCE_KINDS, "a known source kind", "source_kind", line)
    _check_date(row.dob, "dob", line)
    _check_date(row.dod, "dod", line)
    _check_code(row.sex, SEXES, "M, F, U or empty", "sex", line)
    _check_code(row.death_state, STATE_CODES, "a US state or territory code", "death_state", line)
    if row.reported_at:
        try:
            datetime.fromisoformat(row.reported_at)
        except ValueError:
            raise RecordError(
                "reported-at time is not an ISO date or date-time", line=line, field="reported_at"
            ) from None
    digits, flag = _ssn_and_flag(row.ssn)
    if digits == row.ssn and flag == row.ssn_flag:
        return row
    return replace(row, ssn=digits, ssn_flag=flag)


# ── reading ──────────────────────────────────────────────────────────────────────────────
def _lines(source: str | os.PathLike[str] | Iterable[str]) -> Iterator[str]:
    if isinstance(source, str | os.PathLike):
        # surrogateescape: a byte that is not UTF-8 spoils its own row, not the whole file.
        with open(source, encoding="utf-8-sig", errors="surrogateescape", newline="") as fh:
            yield from fh
    else:
        yield from source


def _rows(
    source: str | os.PathLike[str] | Iterable[str],
    headers: dict[tuple[str, ...], str],
) -> Iterator[tuple[int, dict[str, str]] | RecordError]:
    """(line, {column: value}) per row after an exact header check, or RecordErrors.

    `headers` maps each accepted header to "" (or to the reason it is refused). A refused
    header is one RecordError at line 1 and ends the file.
    """
    reader = csv.reader(_lines(source))
    try:
        head = next(reader, None)
    except csv.Error:
        head = []
    if head is None:
        yield RecordError("file is empty (no header)", line=1, field="header")
        return
    if head and head[0].startswith("\ufeff"):
        head[0] = head[0][1:]
    columns = tuple(head)
    if headers.get(columns, "-") != "":
        expected = next(iter(headers))
        yield RecordError(
            headers.get(columns) or f"header is not the canonical one: {','.join(expected)}",
            line=1,
            field="header",
        )
        return
    width = len(columns)
    last = reader.line_num
    while True:
        start = last + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error:
            last = reader.line_num
            yield RecordError("row is not well-formed CSV", line=start, field="row")
            continue
        last = reader.line_num
        if len(cells) != width:
            yield RecordError(
                f"row has {len(cells)} fields, expected {width}", line=start, field="row"
            )
            continue
        yield start, dict(zip(columns, cells, strict=True))


def _named(source: str | os.PathLike[str] | Iterable[str]) -> str | None:
    return os.fspath(source) if isinstance(source, str | os.PathLike) else None


def read_people(
    source: str | os.PathLike[str] | Iterable[str],
) -> Iterator[PersonRow | RecordError]:
    """One PersonRow (SSN as 9 digits) or RecordError per row of a people file.

    The header is the canonical one, or the canonical one without its trailing
    `former_names` column (then every row's former names are "").
    """
    file = _named(source)
    for item in _rows(source, {PEOPLE_COLUMNS: "", PEOPLE_COLUMNS_WITHOUT_FORMER: ""}):
        if isinstance(item, RecordError):
            yield item.in_file(file) if file else item
            continue
        line, values = item
        try:
            yield _check_person(PersonRow(**values), line)
        except RecordError as err:
            yield err.in_file(file) if file else err


def _report_headers(
    default_source_kind: str | None, default_source_id: str | None
) -> dict[tuple[str, ...], str]:
    headers = {REPORT_COLUMNS: ""}
    for omit in ({"source_kind"}, {"source_id"}, {"source_kind", "source_id"}):
        header = tuple(c for c in REPORT_COLUMNS if c not in omit)
        missing = [
            c
            for c, default in (
                ("source_kind", default_source_kind),
                ("source_id", default_source_id),
            )
            if c in omit and not default
        ]
        headers[header] = (
            f"header lacks {' and '.join(missing)} and no default was given" if missing else ""
        )
    return headers


def read_reports(
    source: str | os.PathLike[str] | Iterable[str],
    *,
    default_source_kind: str | None = None,
    default_source_id: str | None = None,
) -> Iterator[ReportRow | RecordError]:
    """One ReportRow or RecordError per row of a reports file.

    The file's own source_kind / source_id win where not empty; the defaults fill the rest,
    and the header may leave those columns out only when their default is given. A bad SSN
    does not reject a report: see ReportRow.ssn_flag.
    """
    file = _named(source)
    headers = _report_headers(default_source_kind, default_source_id)
    for item in _rows(source, headers):
        if isinstance(item, RecordError):
            yield item.in_file(file) if file else item
            continue
        line, values = item
        if not values.get("source_kind"):
            values["source_kind"] = default_source_kind or ""
        if not values.get("source_id"):
            values["source_id"] = default_source_id or ""
        try:
            yield _check_report(ReportRow(**values), line)
        except RecordError as err:
            yield err.in_file(file) if file else err


# ── writing ──────────────────────────────────────────────────────────────────────────────


_Row = TypeVar("_Row", PersonRow, ReportRow)


def _write(
    rows: Iterable[_Row],
    out: str | os.PathLike[str] | TextIO,
    columns: tuple[str, ...],
    check: Callable[[_Row, int | None], _Row],
) -> int:
    problems: list[RecordError] = []
    count = 0
    with staged(out) as sink:
        writer = csv.writer(sink, lineterminator="\n")
        writer.writerow(columns)
        for count, row in enumerate(rows, 1):
            try:
                check(row, count + 1)
            except RecordError as err:
                problems.append(err)
                continue
            if not problems:
                writer.writerow([getattr(row, c) for c in columns])
        if problems:
            raise FileRejected(problems, file=_named(out))
    return count


def write_people(rows: Iterable[PersonRow], out: str | os.PathLike[str] | TextIO) -> int:
    """Write a people file (full header, then rows, \\n line ends); return the number of rows.

    Values are written as given after the reader's checks; all or nothing: any refused
    row means nothing is written and FileRejected lists them (`line` = the row's line).
    """
    return _write(rows, out, PEOPLE_COLUMNS, _check_person)


def write_reports(rows: Iterable[ReportRow], out: str | os.PathLike[str] | TextIO) -> int:
    """Write a reports file (full header; `ssn_flag` is not written); return the row count.

    Values are written as given (an unusable SSN too) after the reader's checks; all or
    nothing, as `write_people`.
    """
    return _write(rows, out, REPORT_COLUMNS, _check_report)


def iter_rows(
    path: Path, header: tuple[str, ...]
) -> Iterator[tuple[int, dict[str, str]] | RecordError]:
    """The rows of a small fixed-header CSV (activity, submissions, requests), stripped.

    A wrong header refuses the file (FileRejected); a row with the wrong number of columns
    is a RecordError for its line; blank rows are skipped. An `ssn` column is read by
    `ssn.parse` (9 digits, `AAA-GG-SSSS` or `AAA GG SSSS`) and given as 9 digits; a bad one
    is a RecordError for its line. Values are never quoted back.
    """
    with path.open("r", encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        first = next(reader, None)
        if first is None or tuple(h.strip() for h in first) != header:
            raise FileRejected(
                [RecordError(f"the header must be {','.join(header)}", line=1, file=path.name)],
                file=path.name,
            )
        for i, row in enumerate(reader, start=2):
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) != len(header):
                yield RecordError("wrong number of columns", line=i, file=path.name)
                continue
            values = dict(zip(header, (c.strip() for c in row), strict=True))
            if "ssn" in values:
                try:
                    values["ssn"] = _parse_ssn(values["ssn"], i)
                except RecordError as exc:
                    yield exc.in_file(path.name)
                    continue
            yield i, values
