"""Canonical CSV files: exact headers, round trips, per-row errors, reports with bad SSNs."""

from __future__ import annotations

import calendar
import io
from dataclasses import astuple, fields, replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vitalfile.errors import FileRejected, RecordError
from vitalfile.events import SOURCE_KINDS
from vitalfile.sources.csv import (
    PEOPLE_COLUMNS,
    REPORT_COLUMNS,
    STATE_CODES,
    PersonRow,
    ReportRow,
    read_people,
    read_reports,
    write_people,
    write_reports,
)
from vitalfile.ssn import never_issued_reason

PEOPLE_HEADER = ",".join(PEOPLE_COLUMNS)
REPORTS_HEADER = ",".join(REPORT_COLUMNS)

# ── strategies ───────────────────────────────────────────────────────────────────────────
ssns = st.text("0123456789", min_size=9, max_size=9).filter(
    lambda s: never_issued_reason(s) is None
)
# Any text but control characters and lone surrogates: commas, quotes, accents, emoji …
free_text = st.text(
    st.characters(blacklist_categories=("Cc", "Cs")), max_size=12
) | st.sampled_from(["", "O'Neil", 'The "Doc"', "Smith, Jr", " padded ", "José"])
states = st.sampled_from(["", *sorted(STATE_CODES)])
sexes = st.sampled_from(["M", "F", "U", ""])
zips = st.sampled_from(["", "12207", "02134-1234", "99501"])


@st.composite
def partial_dates(draw: st.DrawFn) -> str:
    year = draw(st.integers(1, 9999))
    month = draw(st.integers(0, 12))
    day = 0 if month == 0 else draw(st.integers(0, calendar.monthrange(year, month)[1]))
    return f"{year:04d}-{month:02d}-{day:02d}"


dates = st.just("") | partial_dates()

people = st.builds(
    PersonRow,
    ssn=ssns,
    first_name=free_text,
    middle_name=free_text,
    last_name=free_text,
    suffix=free_text,
    dob=dates,
    sex=sexes,
    birth_state=states,
    address=free_text,
    city=free_text,
    state=states,
    zip=zips,
    former_names=free_text | st.sampled_from(["SMITH", "SMITH;JONES-LEE", "de la Cruz; Ortiz"]),
)

report_ssns = st.one_of(
    ssns.map(lambda s: (s, "")),
    st.sampled_from(
        [
            ("", "no SSN given"),
            ("666123456", "area 666 is never issued"),
            ("123004567", "group 00 is never issued"),
            ("078051120", "a publicised example number, never issued to a person"),
        ]
    ),
)


@st.composite
def reports(draw: st.DrawFn) -> ReportRow:
    ssn, flag = draw(report_ssns)
    return ReportRow(
        report_id=draw(st.text("abcdef0123456789-", min_size=1, max_size=10)),
        source_kind=draw(st.sampled_from(SOURCE_KINDS)),
        source_id=draw(st.sampled_from(["ny-edrs", "fh-0042", "bank 7", "va,medicare"])),
        ssn=ssn,
        first_name=draw(free_text),
        middle_name=draw(free_text),
        last_name=draw(free_text),
        suffix=draw(free_text),
        dob=draw(dates),
        dod=draw(dates),
        sex=draw(sexes),
        death_state=draw(states),
        reported_at=draw(st.sampled_from(["", "2024-05-01", "2024-05-01T09:30:00+00:00"])),
        ssn_flag=flag,
    )


def csv_cell(value: str) -> str:
    """Minimal quoting, written independently of the csv module."""
    if any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def csv_text(header: str, rows: list[tuple[str, ...]], end: str = "\n") -> str:
    return "".join(line + end for line in [header, *(",".join(map(csv_cell, r)) for r in rows)])


def person_cells(row: PersonRow) -> tuple[str, ...]:
    return astuple(row)


def report_cells(row: ReportRow) -> tuple[str, ...]:
    return tuple(getattr(row, c) for c in REPORT_COLUMNS)


GOOD_PERSON = PersonRow(
    "123456789", "Ann", "Marie", "O'Neil", "", "1950-03-00", "F", "NY", "1 Main St, Apt 2",
    "Albany", "NY", "12207",
)  # fmt: skip
GOOD_REPORT = ReportRow(
    "r-1", "state", "ny-edrs", "123456789", "Ann", "", "O'Neil", "", "1950-03-00",
    "2024-04-30", "F", "NY", "2024-05-01",
)  # fmt: skip


def people_file(*rows: tuple[str, ...]) -> io.StringIO:
    return io.StringIO(csv_text(PEOPLE_HEADER, list(rows)))


def reports_file(*rows: tuple[str, ...], header: str = REPORTS_HEADER) -> io.StringIO:
    return io.StringIO(csv_text(header, list(rows)))


def only(items: list[object]) -> object:
    assert len(items) == 1
    return items[0]


# ── round trips ──────────────────────────────────────────────────────────────────────────
def test_columns_match_the_row_types() -> None:
    assert tuple(f.name for f in fields(PersonRow)) == PEOPLE_COLUMNS
    assert tuple(f.name for f in fields(ReportRow)) == (*REPORT_COLUMNS, "ssn_flag")


@given(st.lists(people, max_size=8))
def test_people_round_trip(rows: list[PersonRow]) -> None:
    text = csv_text(PEOPLE_HEADER, [person_cells(r) for r in rows])
    out = io.StringIO()
    assert write_people(rows, out) == len(rows)
    assert out.getvalue() == text
    back = list(read_people(io.StringIO(text)))
    assert back == rows
    again = io.StringIO()
    write_people([r for r in back if isinstance(r, PersonRow)], again)
    assert again.getvalue() == text


@given(st.lists(reports(), max_size=8))
def test_reports_round_trip(rows: list[ReportRow]) -> None:
    text = csv_text(REPORTS_HEADER, [report_cells(r) for r in rows])
    out = io.StringIO()
    assert write_reports(rows, out) == len(rows)
    assert out.getvalue() == text
    back = list(read_reports(io.StringIO(text)))
    assert back == rows
    again = io.StringIO()
    write_reports([r for r in back if isinstance(r, ReportRow)], again)
    assert again.getvalue() == text


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=25)
@given(st.lists(people, max_size=5), st.lists(reports(), max_size=5))
def test_files_round_trip_byte_for_byte(
    tmp_path: Path, persons: list[PersonRow], reps: list[ReportRow]
) -> None:
    p, r = tmp_path / "people.csv", tmp_path / "reports.csv"
    write_people(persons, p)
    write_reports(reps, r)
    p_bytes, r_bytes = p.read_bytes(), r.read_bytes()
    write_people([x for x in read_people(p) if isinstance(x, PersonRow)], p)
    write_reports([x for x in read_reports(r) if isinstance(x, ReportRow)], r)
    assert p.read_bytes() == p_bytes
    assert r.read_bytes() == r_bytes


def test_people_file_with_or_without_former_names(tmp_path: Path) -> None:
    assert PEOPLE_COLUMNS[-1] == "former_names"
    married = replace(GOOD_PERSON, former_names="BRADLEY;KOWALCZYK")
    full = csv_text(PEOPLE_HEADER, [person_cells(married)])
    assert list(read_people(io.StringIO(full))) == [married]
    # a file made before the column existed: read as it is, no former names
    old_header = ",".join(PEOPLE_COLUMNS[:-1])
    old = csv_text(old_header, [person_cells(GOOD_PERSON)[:-1]])
    assert list(read_people(io.StringIO(old))) == [GOOD_PERSON]
    # ... and written back with the full header
    out = io.StringIO()
    write_people([GOOD_PERSON], out)
    assert out.getvalue() == csv_text(PEOPLE_HEADER, [person_cells(GOOD_PERSON)])
    # the column elsewhere than last, or a row of the wrong width, is still refused
    moved = ",".join(["former_names", *PEOPLE_COLUMNS[:-1]])
    (err,) = read_people(io.StringIO(csv_text(moved, [person_cells(GOOD_PERSON)])))
    assert isinstance(err, RecordError) and (err.line, err.field) == (1, "header")
    (err,) = read_people(io.StringIO(csv_text(old_header, [person_cells(GOOD_PERSON)])))
    assert isinstance(err, RecordError) and err.message == "row has 13 fields, expected 12"
    bad = replace(GOOD_PERSON, former_names="SMITH\x07")
    (err,) = read_people(io.StringIO(csv_text(PEOPLE_HEADER, [person_cells(bad)])))
    assert isinstance(err, RecordError) and err.field == "former_names"


def test_crlf_and_bom_are_read(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    text = csv_text(PEOPLE_HEADER, [person_cells(GOOD_PERSON)], end="\r\n")
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert list(read_people(path)) == [GOOD_PERSON]
    assert list(read_people(io.StringIO("\ufeff" + text))) == [GOOD_PERSON]
    write_people([GOOD_PERSON], path)
    assert path.read_bytes() == text.replace("\r\n", "\n").encode()


def test_values_are_kept_as_written() -> None:
    row = replace(GOOD_PERSON, first_name="ann", last_name="  o'neil ", city="new york")
    assert list(read_people(people_file(person_cells(row)))) == [row]


def test_ssn_is_normalised_to_nine_digits() -> None:
    row = replace(GOOD_PERSON, ssn="123-45-6789")
    assert list(read_people(people_file(person_cells(row)))) == [GOOD_PERSON]
    rep = replace(GOOD_REPORT, ssn="123-45-6789")
    assert list(read_reports(reports_file(report_cells(rep)))) == [GOOD_REPORT]


# ── headers ──────────────────────────────────────────────────────────────────────────────
@pytest.mark.parametrize(
    "header",
    [
        PEOPLE_HEADER.upper(),
        PEOPLE_HEADER.replace("first_name,middle_name", "middle_name,first_name"),
        PEOPLE_HEADER + ",extra",
        PEOPLE_HEADER.replace(",zip", ""),  # only former_names may be left out
        PEOPLE_HEADER.rsplit(",", 2)[0],
        PEOPLE_HEADER.replace(",", ";"),
        " " + PEOPLE_HEADER,
        "",
    ],
)
def test_a_wrong_header_is_one_error(header: str) -> None:
    text = header + "\n" + ",".join(person_cells(GOOD_PERSON)) + "\n"
    err = only(list(read_people(io.StringIO(text))))
    assert isinstance(err, RecordError)
    assert (err.line, err.field) == (1, "header")


def test_an_empty_file_is_one_header_error() -> None:
    err = only(list(read_people(io.StringIO(""))))
    assert isinstance(err, RecordError)
    assert (err.line, err.field) == (1, "header")


def test_a_headerless_file_does_not_echo_its_first_row() -> None:
    text = ",".join(person_cells(GOOD_PERSON)) + "\n"
    err = only(list(read_people(io.StringIO(text))))
    assert isinstance(err, RecordError) and err.field == "header"
    assert "123456789" not in str(err) and "Neil" not in str(err)


def test_a_header_only_file_has_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    assert write_people([], path) == 0
    assert path.read_text() == PEOPLE_HEADER + "\n"
    assert list(read_people(path)) == []


def without(*columns: str) -> str:
    return ",".join(c for c in REPORT_COLUMNS if c not in columns)


def test_reports_header_may_omit_source_columns_when_defaults_are_given() -> None:
    cells = [v for c, v in zip(REPORT_COLUMNS, report_cells(GOOD_REPORT), strict=True)]
    short = tuple(cells[:1] + cells[3:])
    out = list(
        read_reports(
            reports_file(short, header=without("source_kind", "source_id")),
            default_source_kind="state",
            default_source_id="ny-edrs",
        )
    )
    assert out == [GOOD_REPORT]
    no_kind = tuple(cells[:1] + cells[2:])
    out = list(
        read_reports(
            reports_file(no_kind, header=without("source_kind")), default_source_kind="state"
        )
    )
    assert out == [GOOD_REPORT]


@pytest.mark.parametrize(
    ("omitted", "defaults"),
    [
        (("source_kind",), {}),
        (("source_id",), {"default_source_kind": "state"}),
        (("source_kind", "source_id"), {"default_source_id": "x"}),
    ],
)
def test_reports_header_needs_the_defaults(
    omitted: tuple[str, ...], defaults: dict[str, str]
) -> None:
    err = only(list(read_reports(reports_file(header=without(*omitted)), **defaults)))
    assert isinstance(err, RecordError)
    assert (err.line, err.field) == (1, "header")
    lacking = [c for c in omitted if f"default_{c}" not in defaults]
    assert lacking and all(c in err.message for c in lacking)


def test_the_files_own_source_columns_win() -> None:
    mine = report_cells(GOOD_REPORT)
    blank = report_cells(replace(GOOD_REPORT, source_kind="", source_id=""))
    out = list(
        read_reports(
            reports_file(mine, blank),
            default_source_kind="family",
            default_source_id="fam-1",
        )
    )
    assert out == [GOOD_REPORT, replace(GOOD_REPORT, source_kind="family", source_id="fam-1")]


# ── people rows ──────────────────────────────────────────────────────────────────────────
@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        ({"ssn": ""}, "ssn", "missing"),
        ({"ssn": "12345678"}, "ssn", "not a 9-digit SSN"),
        ({"ssn": "١٢٣٤٥٦٧٨٩"}, "ssn", "not a 9-digit SSN"),
        ({"ssn": "666123456"}, "ssn", "area 666"),
        ({"ssn": "000123456"}, "ssn", "area 000"),
        ({"ssn": "912345678"}, "ssn", "area 900-999"),
        ({"ssn": "123004567"}, "ssn", "group 00"),
        ({"ssn": "123450000"}, "ssn", "serial 0000"),
        ({"dob": "1950-02-30"}, "dob", "not a valid date"),
        ({"dob": "03/15/1950"}, "dob", "not a valid date"),
        ({"dob": "1950-00-15"}, "dob", "day given without month"),
        ({"dob": "0000-01-01"}, "dob", "year 0000"),
        ({"dob": "1950-13-01"}, "dob", "month out of range"),
        ({"dob": "１９５０-01-01"}, "dob", "YYYY-MM-DD"),
        ({"sex": "X"}, "sex", "M, F, U"),
        ({"sex": "m"}, "sex", "M, F, U"),
        ({"birth_state": "XX"}, "birth_state", "state or territory"),
        ({"birth_state": "ny"}, "birth_state", "state or territory"),
        ({"state": "New York"}, "state", "state or territory"),
        ({"zip": "1220"}, "zip", "ZIP code"),
        ({"zip": "12207-12"}, "zip", "ZIP code"),
        ({"first_name": "A\tB"}, "first_name", "control character"),
        ({"address": "1 Main\nSt"}, "address", "control character"),
    ],
)
def test_people_row_errors_name_line_and_field(
    change: dict[str, str], field: str, fragment: str
) -> None:
    bad = replace(GOOD_PERSON, **change)
    out = list(read_people(people_file(person_cells(GOOD_PERSON), person_cells(bad))))
    assert out[0] == GOOD_PERSON
    err = out[1]
    assert isinstance(err, RecordError)
    assert (err.line, err.field) == (3, field)
    assert fragment in err.message
    assert "Neil" not in str(err) and "Main St" not in str(err)
    with pytest.raises(FileRejected):
        write_people([bad], io.StringIO())


@pytest.mark.parametrize(
    "code", ["DC", "PR", "GU", "VI", "AS", "MP", "CA", "WY", "AK", "HI", "AE", "FM"]
)
def test_state_codes(code: str) -> None:
    row = replace(GOOD_PERSON, birth_state=code, state=code)
    assert list(read_people(people_file(person_cells(row)))) == [row]


def test_reading_never_stops_and_counts_lines(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    good = ",".join(map(csv_cell, person_cells(GOOD_PERSON)))
    multi = ",".join(map(csv_cell, person_cells(replace(GOOD_PERSON, address="1 Main\nSt"))))
    path.write_text("\n".join([PEOPLE_HEADER, good, "a,b", "", multi, good, good]) + "\n")
    out = list(read_people(path))
    assert [o if isinstance(o, PersonRow) else (o.line, o.field) for o in out] == [
        GOOD_PERSON,
        (3, "row"),
        (4, "row"),
        (5, "address"),  # the row starts on line 5 and spans two lines
        GOOD_PERSON,
        GOOD_PERSON,
    ]
    assert all(o.context["file"] == str(path) for o in out if isinstance(o, RecordError))


def test_bytes_that_are_not_utf8_spoil_only_their_row(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    good = ",".join(map(csv_cell, person_cells(GOOD_PERSON))).encode()
    bad = good.replace(b"Ann", b"J\xf6rg")
    path.write_bytes(PEOPLE_HEADER.encode() + b"\n" + bad + b"\n" + good + b"\n")
    out = list(read_people(path))
    assert out[1] == GOOD_PERSON
    err = out[0]
    assert isinstance(err, RecordError)
    assert (err.line, err.field) == (2, "first_name")
    assert "UTF-8" in err.message


# ── report rows ──────────────────────────────────────────────────────────────────────────
@pytest.mark.parametrize(
    ("written", "ssn", "flag"),
    [
        ("123456789", "123456789", ""),
        ("123-45-6789", "123456789", ""),
        ("666-12-3456", "666123456", "area 666 is never issued"),
        ("000123456", "000123456", "area 000 is never issued"),
        ("123450000", "123450000", "serial 0000 is never issued"),
        ("12345678", "", "not a 9-digit SSN"),
        ("unknown", "", "not a 9-digit SSN"),
        ("١٢٣٤٥٦٧٨٩", "", "not a 9-digit SSN"),
        ("", "", "no SSN given"),
    ],
)
def test_a_report_is_kept_with_a_bad_ssn(written: str, ssn: str, flag: str) -> None:
    row = replace(GOOD_REPORT, ssn=written)
    out = only(list(read_reports(reports_file(report_cells(row)))))
    assert out == replace(GOOD_REPORT, ssn=ssn, ssn_flag=flag)


def test_a_bad_report_ssn_is_written_as_given() -> None:
    out = io.StringIO()
    write_reports([replace(GOOD_REPORT, ssn="12-34")], out)
    assert ",12-34," in out.getvalue()


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        ({"report_id": ""}, "report_id", "missing"),
        ({"source_kind": "hospital"}, "source_kind", "source kind"),
        ({"source_kind": "State"}, "source_kind", "source kind"),
        ({"source_id": ""}, "source_id", "missing"),
        ({"source_kind": ""}, "source_kind", "missing"),
        ({"dod": "2024-02-30"}, "dod", "not a valid date"),
        ({"dod": "2024-00-05"}, "dod", "day given without month"),
        ({"dob": "1950-3-1"}, "dob", "not a valid date"),
        ({"sex": "male"}, "sex", "M, F, U"),
        ({"death_state": "ZZ"}, "death_state", "state or territory"),
        ({"reported_at": "yesterday"}, "reported_at", "ISO"),
        ({"last_name": "O'Neil\x00"}, "last_name", "control character"),
    ],
)
def test_report_row_errors(change: dict[str, str], field: str, fragment: str) -> None:
    bad = replace(GOOD_REPORT, **change)
    err = only(list(read_reports(reports_file(report_cells(bad)))))
    assert isinstance(err, RecordError)
    assert (err.line, err.field) == (2, field)
    assert fragment in err.message
    with pytest.raises(FileRejected):
        write_reports([bad], io.StringIO())


def test_unknown_dates_are_allowed_in_reports() -> None:
    row = replace(GOOD_REPORT, dob="", dod="", reported_at="")
    assert list(read_reports(reports_file(report_cells(row)))) == [row]


# ── writing ──────────────────────────────────────────────────────────────────────────────
def test_write_is_all_or_nothing(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("previous\n")
    rows = [GOOD_PERSON, replace(GOOD_PERSON, sex="Q"), GOOD_PERSON, replace(GOOD_PERSON, ssn="")]
    with pytest.raises(FileRejected) as info:
        write_people(rows, path)
    assert [(p.line, p.field) for p in info.value.problems] == [(3, "sex"), (5, "ssn")]
    assert path.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["people.csv"]
    buf = io.StringIO()
    with pytest.raises(FileRejected):
        write_people(rows, buf)
    assert buf.getvalue() == ""


def test_ssn_flag_is_not_written() -> None:
    out = io.StringIO()
    write_reports([replace(GOOD_REPORT, ssn_flag="anything")], out)
    assert "anything" not in out.getvalue()
    assert out.getvalue().splitlines()[0] == REPORTS_HEADER


# ── no personal data in messages ─────────────────────────────────────────────────────────
tagged = st.text("abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=8).map(lambda s: "Qx" + s)
PERSON_DEFECTS: list[dict[str, str]] = [
    {"sex": "?"},
    {"dob": "1950-02-31"},
    {"dob": "garbage"},
    {"zip": "1"},
    {"state": "Qq"},
    {"birth_state": "Zz"},
]


@given(ssns, tagged, tagged, tagged, st.sampled_from(PERSON_DEFECTS))
def test_no_error_quotes_the_ssn_or_a_name(
    ssn: str, first: str, middle: str, last: str, defect: dict[str, str]
) -> None:
    row = replace(GOOD_PERSON, ssn=ssn, first_name=first, middle_name=middle, last_name=last)
    cells = person_cells(replace(row, **defect))
    bad_ssn = person_cells(replace(row, ssn="666" + ssn[3:]))
    short = cells[:5]
    headerless = ",".join(map(csv_cell, cells)) + "\n"
    errors = [
        *read_people(people_file(cells, bad_ssn, short)),
        *read_people(io.StringIO(headerless)),
        *read_reports(reports_file((first, "state", "s", ssn, first, middle, last))),
    ]
    assert errors and all(isinstance(e, RecordError) for e in errors)
    for err in errors:
        assert isinstance(err, RecordError)
        text = str(err) + repr(err.to_dict()) + repr(err.args)
        for secret in (ssn, ssn[:5], ssn[-4:], first, middle, last):
            assert secret not in text


@given(
    st.from_regex(r"[0-8][0-9]{2}[1-9][0-9][1-9][0-9]{3}", fullmatch=True),
    st.sampled_from(["", "-", " "]),
)
def test_small_csvs_read_every_ssn_shape_alike(digits: str, sep: str) -> None:
    """Activity, requests and determinations share one reader: `123 45 6780`, `123-45-6780`
    and `123456780` are the same SSN in each (issue 13: they disagreed)."""
    import tempfile

    from vitalfile.sources.csv import iter_rows

    text = digits[:3] + sep + digits[3:5] + sep + digits[5:]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "a.csv"
        path.write_text(f"ssn,kind\n{text},x\n12-34,y\n", encoding="utf-8")
        rows = list(iter_rows(path, ("ssn", "kind")))
    assert rows[0] == (2, {"ssn": digits, "kind": "x"})
    assert isinstance(rows[1], RecordError) and rows[1].field == "ssn" and rows[1].line == 3
    assert "12-34" not in str(rows[1])
