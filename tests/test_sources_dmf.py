"""The DMF fixed-width record in both layouts: round trips, per-field errors, file modes,
trimmed lines, surnames with a comma, no values in errors."""

from __future__ import annotations

import calendar
import io
from dataclasses import fields, replace
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vitalfile.errors import FileRejected, RecordError, UsageError
from vitalfile.sources import dmf
from vitalfile.sources.dmf import (
    LAYOUT,
    DmfRecord,
    format_record,
    looks_like_dmf,
    parse_line,
    read_dmf,
    write_dmf,
)
from vitalfile.sources.dmf_layout import (
    LAYOUT_1980,
    LAYOUT_2011,
    LAYOUTS,
    RECORD_LENGTH,
    RESIDENCE_FIELDS,
)
from vitalfile.ssn import never_issued_reason

WIDTH = {"last_name": 20, "suffix": 4, "first_name": 15, "middle_name": 15}
NAME_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ -'."

# ── strategies ───────────────────────────────────────────────────────────────────────────
ssns = st.text("0123456789", min_size=9, max_size=9).filter(
    lambda s: never_issued_reason(s) is None
)


def names(width: int) -> st.SearchStrategy[str]:
    """A valid name: allowed characters, left-justified, no right padding."""
    return st.one_of(
        st.just(""),
        st.text(NAME_ALPHABET, min_size=1, max_size=width).map(str.strip).filter(lambda s: s != ""),
    )


@st.composite
def partial_dates(draw: st.DrawFn, lo: int = 1850, hi: int = 2030) -> str:
    year = draw(st.integers(lo, hi))
    month = draw(st.integers(0, 12))
    day = 0 if month == 0 else draw(st.integers(0, calendar.monthrange(year, month)[1]))
    return f"{year:04d}-{month:02d}-{day:02d}"


def earliest(iso: str) -> date:
    y, m, d = int(iso[:4]), int(iso[5:7]), int(iso[8:])
    return date(y, m or 1, d or 1)


def latest(iso: str) -> date:
    y, m, d = int(iso[:4]), int(iso[5:7]), int(iso[8:])
    m = m or 12
    return date(y, m, d or calendar.monthrange(y, m)[1])


def surely_before(a: str, b: str) -> bool:
    """The independent oracle: every day `a` may mean is before every day `b` may mean."""
    return latest(a) < earliest(b)


@st.composite
def records(draw: st.DrawFn, actions: str = " ACD") -> DmfRecord:
    dob = draw(st.one_of(st.just(""), partial_dates()))
    dod = draw(st.one_of(st.just(""), partial_dates()))
    if dod and dob and surely_before(dod, dob):
        dod, dob = dob, dod
    return DmfRecord(
        action=draw(st.sampled_from(actions)).strip(),
        ssn=draw(ssns),
        last_name=draw(names(20)),
        suffix=draw(names(4)),
        first_name=draw(names(15)),
        middle_name=draw(names(15)),
        proof=draw(st.sampled_from(["", "V", "P"])),
        dod=dod,
        dob=dob,
        dod_zeros=draw(st.booleans()) if dod == "" else False,
        dob_zeros=draw(st.booleans()) if dob == "" else False,
    )


def mmddyyyy(iso: str, zeros: bool) -> str:
    if iso == "":
        return "00000000" if zeros else " " * 8
    return iso[5:7] + iso[8:] + iso[:4]


def line_of(rec: DmfRecord) -> str:
    """The record's line, built independently of format_record."""
    return (
        f"{rec.action or ' '}{rec.ssn}{rec.last_name:<20}{rec.suffix:<4}{rec.first_name:<15}"
        f"{rec.middle_name:<15}{rec.proof or ' '}{mmddyyyy(rec.dod, rec.dod_zeros)}"
        f"{mmddyyyy(rec.dob, rec.dob_zeros)}{' ' * 19}"
    )


GOOD = DmfRecord(
    "", "123456789", "O'BRIEN-SMITH", "JR", "MARY ANN", "Q.", "V", "2020-03-15", "1931-00-00"
)
GOOD_LINE = line_of(GOOD)


def with_cols(line: str, first: int, text: str) -> str:
    """`line` with `text` written from 1-based column `first` on."""
    return line[: first - 1] + text + line[first - 1 + len(text) :]


# ── layout ───────────────────────────────────────────────────────────────────────────────
def test_layout_covers_the_record_exactly() -> None:
    col = 1
    for _name, start, length in LAYOUT:
        assert start == col
        col += length
    assert col - 1 == dmf.RECORD_LENGTH == 100
    record_fields = [f.name for f in fields(DmfRecord)]
    assert [name for name, _, _ in LAYOUT] == [*record_fields[:9], "filler"]


def test_layout_slices_agree_with_the_parser() -> None:
    rec = parse_line(GOOD_LINE)
    for name, start, length in LAYOUT[:7]:
        assert GOOD_LINE[start - 1 : start - 1 + length].strip() == getattr(rec, name)


# ── round trips ──────────────────────────────────────────────────────────────────────────
def test_a_known_line() -> None:
    assert len(GOOD_LINE) == 100
    assert parse_line(GOOD_LINE, 1) == GOOD
    assert format_record(GOOD) == GOOD_LINE
    assert GOOD_LINE[65:81] == "03152020" + "00001931"


@given(records())
def test_format_then_parse(rec: DmfRecord) -> None:
    line = format_record(rec)
    assert len(line) == 100
    assert line == line_of(rec)
    assert parse_line(line, 1) == rec


@given(records())
def test_parse_then_format_is_byte_exact(rec: DmfRecord) -> None:
    line = line_of(rec)
    assert format_record(parse_line(line)) == line
    assert format_record(parse_line(line + "\n")) == line
    assert format_record(parse_line(line + "\r\n")) == line


@settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    max_examples=30,
)
@given(st.sampled_from([" ", "ACD"]).flatmap(lambda a: st.lists(records(a), max_size=20)))
def test_file_round_trip_is_byte_exact(tmp_path: Path, recs: list[DmfRecord]) -> None:
    path = tmp_path / "dmf.txt"
    assert write_dmf(recs, path) == len(recs)
    data = path.read_bytes()
    assert data == "".join(line_of(r) + "\n" for r in recs).encode("ascii")
    back = [r for r in read_dmf(path) if isinstance(r, DmfRecord)]
    assert back == recs
    buf = io.StringIO()
    write_dmf(back, buf)
    assert buf.getvalue().encode("ascii") == data


def test_partial_and_unknown_dates_survive() -> None:
    rec = replace(GOOD, dod="2020-04-00", dob="1950-00-00")
    assert format_record(rec)[65:81] == "04002020" + "00001950"
    assert parse_line(format_record(rec)) == rec
    blank = replace(GOOD, dod="", dob="")
    zeros = replace(GOOD, dod="", dob="", dod_zeros=True, dob_zeros=True)
    assert format_record(blank)[65:81] == " " * 16
    assert format_record(zeros)[65:81] == "0" * 16
    assert parse_line(format_record(blank)) == blank
    assert parse_line(format_record(zeros)) == zeros


def test_zeros_flag_is_ignored_for_a_known_date() -> None:
    rec = replace(GOOD, dod_zeros=True)
    assert format_record(rec) == GOOD_LINE


def test_crlf_is_read_and_lf_written(tmp_path: Path) -> None:
    path = tmp_path / "crlf.txt"
    path.write_bytes((GOOD_LINE + "\r\n" + GOOD_LINE + "\r\n").encode())
    recs = [r for r in read_dmf(path) if isinstance(r, DmfRecord)]
    assert recs == [GOOD, GOOD]
    assert len(list(read_dmf(path))) == 2
    out = tmp_path / "lf.txt"
    write_dmf(recs, out)
    assert out.read_bytes() == (GOOD_LINE + "\n" + GOOD_LINE + "\n").encode()


def test_last_line_without_newline(tmp_path: Path) -> None:
    path = tmp_path / "last.txt"
    path.write_text(GOOD_LINE + "\n" + GOOD_LINE)
    assert list(read_dmf(path)) == [GOOD, GOOD]


def test_format_upper_cases_names() -> None:
    rec = replace(GOOD, last_name="o'brien-smith", first_name="Mary Ann", suffix="jr")
    assert format_record(rec) == GOOD_LINE


# ── per-field errors ─────────────────────────────────────────────────────────────────────
BAD_LINES = [
    (GOOD_LINE[:99], "record", "99 characters"),
    (GOOD_LINE + " ", "record", "101 characters"),
    ("", "record", "0 characters"),
    (GOOD_LINE + "\r", "record", "101 characters"),
    (with_cols(GOOD_LINE, 1, "X"), "action", "action code"),
    (with_cols(GOOD_LINE, 1, "a"), "action", "action code"),
    (with_cols(GOOD_LINE, 2, "12345678 "), "ssn", "not 9 digits"),
    (with_cols(GOOD_LINE, 2, "123-45-67"), "ssn", "not 9 digits"),
    (with_cols(GOOD_LINE, 2, "666123456"), "ssn", "area 666"),
    (with_cols(GOOD_LINE, 2, "123004567"), "ssn", "group 00"),
    (with_cols(GOOD_LINE, 2, "123450000"), "ssn", "serial 0000"),
    (with_cols(GOOD_LINE, 2, "912345678"), "ssn", "area 900-999"),
    (with_cols(GOOD_LINE, 11, "o'brien"), "last_name", "characters other than"),
    (with_cols(GOOD_LINE, 11, " OBRIEN"), "last_name", "not left-justified"),
    (with_cols(GOOD_LINE, 11, "OBRIEN2"), "last_name", "characters other than"),
    (with_cols(GOOD_LINE, 31, "J/R"), "suffix", "characters other than"),
    (with_cols(GOOD_LINE, 35, "MARÍA"), "first_name", "characters other than"),
    (with_cols(GOOD_LINE, 50, "Q,"), "middle_name", "characters other than"),
    (with_cols(GOOD_LINE, 65, "X"), "proof", "proof code"),
    (with_cols(GOOD_LINE, 66, "13012020"), "dod", "month out of range"),
    (with_cols(GOOD_LINE, 66, "02302020"), "dod", "not a valid date"),
    (with_cols(GOOD_LINE, 66, "00152020"), "dod", "day given without month"),
    (with_cols(GOOD_LINE, 66, "01011849"), "dod", "year before 1850"),
    (with_cols(GOOD_LINE, 66, "01010000"), "dod", "year 0000"),
    (with_cols(GOOD_LINE, 66, "0101 020"), "dod", "not MMDDYYYY"),
    (with_cols(GOOD_LINE, 66, "2020-3-1"), "dod", "not MMDDYYYY"),
    (with_cols(GOOD_LINE, 74, "02291931"), "dob", "not a valid date"),
    (with_cols(GOOD_LINE, 74, "AB011931"), "dob", "not MMDDYYYY"),
    (with_cols(GOOD_LINE, 94, "X"), "filler", "columns 94-100 are not blank"),
    (with_cols(GOOD_LINE, 100, "X"), "filler", "columns 94-100 are not blank"),
    (with_cols(GOOD_LINE, 82, "C"), "residence_state", "columns 82-83"),
    (with_cols(GOOD_LINE, 82, "ca"), "residence_state", "two letters or two digits"),
    (with_cols(GOOD_LINE, 82, "C1"), "residence_state", "two letters or two digits"),
    (with_cols(GOOD_LINE, 84, "1234"), "residence_zip", "(columns 84-88) is not 5 digits"),
    (with_cols(GOOD_LINE, 85, "1234"), "residence_zip", "ZIP of last residence"),
    (with_cols(GOOD_LINE, 89, "ABCDE"), "lump_sum_zip", "(columns 89-93) is not 5 digits"),
    (with_cols(GOOD_LINE, 11, ",OBRIEN"), "last_name", "no surname before it"),
    (with_cols(GOOD_LINE, 11, "CARTER, JOHN"), "last_name", "more than a name suffix"),
    (with_cols(GOOD_LINE, 11, "CARTER,,"), "last_name", "more than a name suffix"),
    (with_cols(GOOD_LINE, 11, "CAR7ER,"), "last_name", "characters other than"),
    (GOOD_LINE[:9], "record", "9 characters"),  # shorter than action and SSN: not trimmed
    (with_cols(GOOD_LINE, 66, "01001930"), "dod", "before date of birth"),
    (with_cols(GOOD_LINE, 66, "00001930"), "dod", "before date of birth"),
]


@pytest.mark.parametrize(("line", "field", "fragment"), BAD_LINES)
def test_parse_names_the_bad_field(line: str, field: str, fragment: str) -> None:
    with pytest.raises(RecordError) as info:
        parse_line(line, 42)
    err = info.value
    assert err.line == 42
    assert err.field == field
    assert fragment in err.message
    assert "123456789" not in str(err)
    assert "BRIEN" not in str(err) and "MARY" not in str(err)


@pytest.mark.parametrize(
    ("dod", "dob"),
    [
        ("1931-00-00", "1931-05-02"),  # same year, month of death unknown
        ("1931-05-00", "1931-05-02"),  # same month, day of death unknown
        ("1931-05-02", "1931-05-00"),
        ("1931-05-02", "1931-05-02"),  # died the day of birth
        ("1931-06-01", "1931-05-31"),
    ],
)
def test_uncertain_or_equal_dates_are_not_out_of_order(dod: str, dob: str) -> None:
    rec = replace(GOOD, dod=dod, dob=dob)
    assert parse_line(format_record(rec)) == rec


@given(partial_dates(), partial_dates())
def test_order_check_matches_the_interval_oracle(dod: str, dob: str) -> None:
    line = line_of(replace(GOOD, dod=dod, dob=dob))
    if surely_before(dod, dob):
        with pytest.raises(RecordError, match="before date of birth"):
            parse_line(line)
    else:
        assert parse_line(line).dod == dod


MUTATIONS = st.sampled_from([*"AZaz09 -'./,é\x00\t", "\udcc3"])


@given(records(), st.integers(0, 99), MUTATIONS)
def test_fast_and_careful_parsers_agree(rec: DmfRecord, at: int, char: str) -> None:
    line = line_of(rec)
    line = line[:at] + char + line[at + 1 :]
    outcomes: list[object] = []
    for parser in (dmf.parse_line, dmf._parse_slowly):
        try:
            outcomes.append(parser(line, 3))
        except RecordError as err:
            outcomes.append((err.field, err.message))
    assert outcomes[0] == outcomes[1]


def test_format_refuses_a_name_longer_than_its_field() -> None:
    with pytest.raises(RecordError) as info:
        format_record(replace(GOOD, first_name="A" * 16), 5)
    assert info.value.field == "first_name"
    assert info.value.line == 5
    assert "15-character" in info.value.message
    assert format_record(replace(GOOD, first_name="A" * 15))[34:49] == "A" * 15


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"action": "X"}, "action"),
        ({"action": " "}, "action"),
        ({"ssn": "12345678"}, "ssn"),
        ({"ssn": "123-45-6789"}, "ssn"),
        ({"ssn": "000123456"}, "ssn"),
        ({"last_name": "SMITH2"}, "last_name"),
        ({"last_name": " SMITH"}, "last_name"),
        ({"suffix": "JUNIOR"}, "suffix"),
        ({"middle_name": "MÜLLER"}, "middle_name"),
        ({"proof": "v"}, "proof"),
        ({"dod": "2020-02-30"}, "dod"),
        ({"dod": "20200101"}, "dod"),
        ({"dod": "2020-1-01"}, "dod"),
        ({"dob": "1800-01-01"}, "dob"),
        ({"dob": "1950-00-05"}, "dob"),
        ({"dod": "1920-01-01"}, "dod"),
    ],
)
def test_format_refuses_what_parse_would_refuse(change: dict[str, str], field: str) -> None:
    with pytest.raises(RecordError) as info:
        format_record(replace(GOOD, **change))  # type: ignore[arg-type]
    assert info.value.field == field


# ── files ────────────────────────────────────────────────────────────────────────────────
def test_read_never_stops_at_a_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "mixed.txt"
    bad = with_cols(GOOD_LINE, 65, "X")
    path.write_text("\n".join([GOOD_LINE, bad, "short", GOOD_LINE, ""]) + "\n")
    out = list(read_dmf(path))
    assert len(out) == 5
    assert out[0] == GOOD and out[3] == GOOD
    errors = [o for o in out if isinstance(o, RecordError)]
    assert [(e.line, e.field) for e in errors] == [(2, "proof"), (3, "record"), (5, "record")]
    assert all(e.context["file"] == str(path) for e in errors)


def test_read_from_lines_has_no_file() -> None:
    out = list(read_dmf([GOOD_LINE, "x"]))
    assert out[0] == GOOD
    assert isinstance(out[1], RecordError)
    assert "file" not in out[1].context
    assert out[1].line == 2


def test_a_non_ascii_byte_spoils_only_its_field(tmp_path: Path) -> None:
    path = tmp_path / "latin.txt"
    raw = GOOD_LINE.encode("ascii")
    bad = raw[:34] + b"\xc9" + raw[35:]  # Latin-1 É in the first name
    path.write_bytes(raw + b"\n" + bad + b"\n" + raw + b"\n")
    out = list(read_dmf(path))
    assert out[0] == GOOD and out[2] == GOOD
    assert isinstance(out[1], RecordError)
    assert out[1].field == "first_name"


def update_line(action: str) -> str:
    return with_cols(GOOD_LINE, 1, action)


def test_full_file_wants_blank_actions() -> None:
    out = list(read_dmf([GOOD_LINE, update_line("A")], update=False))
    assert out[0] == GOOD
    assert isinstance(out[1], RecordError)
    assert (out[1].line, out[1].field) == (2, "action")
    assert "full file" in out[1].message


def test_update_file_wants_acd() -> None:
    out = list(
        read_dmf([update_line("A"), update_line("C"), update_line("D"), GOOD_LINE], update=True)
    )
    assert [o.action for o in out[:3] if isinstance(o, DmfRecord)] == ["A", "C", "D"]
    assert isinstance(out[3], RecordError)
    assert (out[3].line, out[3].field) == (4, "action")
    assert "update file" in out[3].message


def test_update_file_refuses_a_blank_first_line() -> None:
    out = list(read_dmf([GOOD_LINE], update=True))
    assert isinstance(out[0], RecordError) and out[0].field == "action"


@pytest.mark.parametrize(
    ("lines", "bad"),
    [
        ([GOOD_LINE, update_line("A"), GOOD_LINE], [2]),
        ([update_line("D"), GOOD_LINE, update_line("C")], [2]),
        (["bad", update_line("D"), GOOD_LINE], [1, 3]),  # the first good record decides
    ],
)
def test_unknown_mode_must_not_mix(lines: list[str], bad: list[int]) -> None:
    out = list(read_dmf(lines))
    assert [i for i, o in enumerate(out, 1) if isinstance(o, RecordError)] == bad
    mixed = [o for o in out if isinstance(o, RecordError) and o.field == "action"]
    assert mixed and all("mixes" in e.message for e in mixed)


def test_write_is_all_or_nothing(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    path.write_text("previous\n")
    recs = [GOOD, replace(GOOD, ssn="666000000"), GOOD, replace(GOOD, last_name="X" * 21)]
    with pytest.raises(FileRejected) as info:
        write_dmf(recs, path)
    assert [(p.line, p.field) for p in info.value.problems] == [(2, "ssn"), (4, "last_name")]
    assert info.value.context["file"] == str(path)
    assert path.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]  # no temporary left behind
    buf = io.StringIO()
    with pytest.raises(FileRejected):
        write_dmf(recs, buf)
    assert buf.getvalue() == ""


def test_written_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "private.txt"
    write_dmf([GOOD], path)
    assert path.stat().st_mode & 0o077 == 0


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    assert write_dmf([], path) == 0
    assert path.read_bytes() == b""
    assert list(read_dmf(path)) == []


# ── the pre-2011 layout, trimmed lines, surnames with a comma ─────────────────────────────
zips = st.one_of(st.just(""), st.text("0123456789", min_size=5, max_size=5))
states = st.one_of(
    st.just(""),
    st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=2),
    st.text("0123456789", min_size=2, max_size=2),
)


@st.composite
def records_1980(draw: st.DrawFn, actions: str = " ACD") -> DmfRecord:
    return replace(
        draw(records(actions)),
        residence_state=draw(states),
        residence_zip=draw(zips),
        lump_sum_zip=draw(zips),
    )


def line_of_1980(rec: DmfRecord) -> str:
    """The record's pre-2011 line, built independently of format_record."""
    geography = f"{rec.residence_state:<2}{rec.residence_zip:<5}{rec.lump_sum_zip:<5}"
    return line_of(rec)[:81] + geography + " " * 7


def test_the_layouts_cover_the_record_and_share_columns_1_to_81() -> None:
    for layout in LAYOUTS.values():
        col = 1
        for c in layout.columns:
            assert c.start == col
            col += c.length
        assert col - 1 == RECORD_LENGTH
        assert layout.filler.name == "filler"
    assert LAYOUT_1980.columns[:9] == LAYOUT_2011.columns[:9]
    assert [c.name for c in LAYOUT_1980.columns[9:12]] == list(RESIDENCE_FIELDS)
    assert [f.name for f in fields(DmfRecord)][-3:] == list(RESIDENCE_FIELDS)
    assert LAYOUT_2011.as_tuples() == LAYOUT


def test_a_known_pre_2011_line() -> None:
    rec = replace(GOOD, residence_state="NY", residence_zip="10027", lump_sum_zip="07030")
    line = line_of_1980(rec)
    assert line[81:] == "NY1002707030       "
    assert parse_line(line, 1) == rec
    assert parse_line(line, 1, "1980") == rec
    assert rec.layout == "1980" and GOOD.layout == "2011"
    assert format_record(rec) == format_record(rec, layout="1980") == line
    with pytest.raises(RecordError) as info:
        parse_line(line, 7, "2011")
    assert (info.value.line, info.value.field) == (7, "filler")
    assert "columns 82-100 are not blank" in info.value.message
    assert "NY" not in str(info.value) and "10027" not in str(info.value)


@given(records_1980())
def test_1980_format_then_parse(rec: DmfRecord) -> None:
    line = format_record(rec, layout="1980")
    assert line == line_of_1980(rec)
    assert parse_line(line, 1, "1980") == rec
    assert parse_line(line, 1) == rec  # either layout
    assert format_record(rec) == line  # the layout the record needs
    assert format_record(parse_line(line)) == line


@given(records_1980())
def test_the_2011_layout_leaves_the_pre_2011_fields_out(rec: DmfRecord) -> None:
    line = line_of_1980(rec)
    if rec.layout == "2011":
        assert line == line_of(rec)
        assert parse_line(line, 1, "2011") == rec
    else:
        with pytest.raises(RecordError, match="columns 82-100 are not blank"):
            parse_line(line, 1, "2011")
    bare = replace(rec, residence_state="", residence_zip="", lump_sum_zip="")
    assert format_record(rec, layout="2011") == line_of(rec)
    assert parse_line(format_record(rec, layout="2011"), 1, "2011") == bare


@settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    max_examples=30,
)
@given(
    st.sampled_from(["2011", "1980"]),
    st.sampled_from([" ", "ACD"]).flatmap(lambda a: st.lists(records_1980(a), max_size=20)),
)
def test_file_round_trip_in_either_layout(
    tmp_path: Path, layout: str, recs: list[DmfRecord]
) -> None:
    if layout == "2011":
        recs = [replace(r, residence_state="", residence_zip="", lump_sum_zip="") for r in recs]
    path = tmp_path / f"dmf-{layout}.txt"
    assert write_dmf(recs, path, layout=layout) == len(recs)
    data = path.read_bytes()
    assert data == "".join(line_of_1980(r) + "\n" for r in recs).encode("ascii")
    assert list(read_dmf(path, layout=layout)) == recs
    assert list(read_dmf(path)) == recs
    buf = io.StringIO()
    back = [r for r in read_dmf(path) if isinstance(r, DmfRecord)]
    write_dmf(back, buf)  # the default writes what was read
    assert buf.getvalue().encode("ascii") == data


@given(st.one_of(records(), records_1980()), st.sampled_from(["", "\n", "\r\n"]))
def test_trimmed_lines_are_padded_and_read(rec: DmfRecord, newline: str) -> None:
    trimmed = format_record(rec).rstrip(" ")
    assert 10 <= len(trimmed) <= 100
    assert parse_line(trimmed + newline, 1) == rec
    assert dmf._parse_slowly(trimmed + newline, 1) == rec
    if rec.layout == "2011":
        assert parse_line(trimmed + newline, 1, "2011") == rec
    assert dmf.padded(trimmed + newline) == format_record(rec)


def test_a_trimmed_file_reads_and_writes_back_whole(tmp_path: Path) -> None:
    blank_dob = replace(GOOD, dob="", proof="")
    path = tmp_path / "trimmed.txt"
    path.write_text(GOOD_LINE.rstrip() + "\n" + format_record(blank_dob).rstrip() + "\n")
    assert list(read_dmf(path)) == [GOOD, blank_dob]
    out = tmp_path / "whole.txt"
    write_dmf(read_dmf(path), out)  # type: ignore[arg-type]
    assert out.read_text() == GOOD_LINE + "\n" + format_record(blank_dob) + "\n"


def test_only_a_line_without_trailing_blanks_is_taken_as_trimmed() -> None:
    for line in (GOOD_LINE[:99], GOOD_LINE[:82], GOOD_LINE[:10] + " "):
        with pytest.raises(RecordError, match="characters long") as info:
            parse_line(line, 2)
        assert info.value.field == "record"


def surname_line(last: str, suffix: str) -> str:
    return with_cols(with_cols(GOOD_LINE, 11, last.ljust(20)), 31, suffix.ljust(4))


@pytest.mark.parametrize(
    ("last", "suffix", "read"),
    [
        ("CARTER,", "JR", ("CARTER", "JR")),
        ("CARTER,", "", ("CARTER", "")),
        ("CARTER ,", "", ("CARTER", "")),
        ("CARTER, JR", "", ("CARTER", "JR")),  # the suffix written after the comma
        ("CARTER,SR.", "", ("CARTER", "SR.")),
        ("CARTER, SR", "JR", ("CARTER", "JR")),  # the suffix column wins
        ("VAN DER BERG,", "III", ("VAN DER BERG", "III")),
    ],
)
def test_a_trailing_comma_ends_the_surname(last: str, suffix: str, read: tuple[str, str]) -> None:
    line = surname_line(last, suffix)
    rec = parse_line(line, 1)
    assert (rec.last_name, rec.suffix) == read
    assert replace(rec, last_name=GOOD.last_name, suffix=GOOD.suffix) == GOOD
    assert parse_line(format_record(rec), 1) == rec  # written back without the comma
    assert dmf._parse_slowly(line, 1) == rec
    assert parse_line(line.rstrip(), 1) == rec


def test_a_comma_elsewhere_is_still_refused() -> None:
    for line, field in (
        (with_cols(GOOD_LINE, 35, "MARY,"), "first_name"),
        (with_cols(GOOD_LINE, 31, "JR,"), "suffix"),
    ):
        with pytest.raises(RecordError) as info:
            parse_line(line, 3)
        assert info.value.field == field


def test_an_unknown_layout_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="2011, 1980"):
        parse_line(GOOD_LINE, 1, "1990")
    with pytest.raises(UsageError):
        list(read_dmf([GOOD_LINE], layout="x"))
    with pytest.raises(UsageError):
        write_dmf([GOOD], tmp_path / "x.txt", layout="x")
    assert not (tmp_path / "x.txt").exists()


def test_looks_like_dmf() -> None:
    assert looks_like_dmf(GOOD_LINE + "\n")
    assert looks_like_dmf(GOOD_LINE.rstrip() + "\r\n")
    assert looks_like_dmf(update_line("A"))
    assert not looks_like_dmf("ssn,first_name,middle_name")
    assert not looks_like_dmf(GOOD_LINE + "X")
    assert not looks_like_dmf('{"resourceType": "Bundle"}')


@given(records_1980(), st.integers(0, 99), MUTATIONS, st.sampled_from([None, "2011", "1980"]))
def test_fast_and_careful_parsers_agree_in_every_layout(
    rec: DmfRecord, at: int, char: str, layout: str | None
) -> None:
    line = line_of_1980(rec)
    line = line[:at] + char + line[at + 1 :]
    outcomes: list[object] = []
    for parser in (dmf.parse_line, dmf._parse_slowly):
        try:
            outcomes.append(parser(line, 3, layout))
        except RecordError as err:
            outcomes.append((err.field, err.message))
    assert outcomes[0] == outcomes[1]


def test_docs_formats_lists_every_column_of_both_layouts() -> None:
    doc = (Path(__file__).parents[1] / "docs" / "formats.md").read_text()
    for name, layout in LAYOUTS.items():
        section = doc.split(f"### Layout {name}", 1)[1].split("\n###", 1)[0]
        rows = [
            [cell.strip() for cell in row.strip("|").split("|")]
            for row in section.splitlines()
            if row.startswith("| ") and not row.startswith("| columns")
        ]
        listed = {(r[0], int(r[1]), r[2].strip("`()")) for r in rows if r[0] != "1-81"}
        expected = {(c.columns, c.length, c.name) for c in layout.columns}
        if name == "1980":  # columns 1-81 are listed once, under the 2011 layout
            expected -= {(c.columns, c.length, c.name) for c in LAYOUT_2011.columns[:9]}
        assert listed == expected


# ── no personal data in messages ─────────────────────────────────────────────────────────
def tagged(width: int) -> st.SearchStrategy[str]:
    """Names that cannot be mistaken for words of a message."""
    return st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=width - 2).map(
        lambda s: "QX" + s
    )


CORRUPTIONS = [
    (1, "X"),
    (2, "66"),  # area 666 when the SSN starts with 6 … or malformed otherwise
    (5, "0"),
    (11, "a"),
    (35, "#"),
    (50, " "),
    (65, "Z"),
    (66, "99"),
    (74, "1"),
    (80, "X"),
    (90, "Y"),
    (101, "Z"),
]


@given(
    st.builds(
        DmfRecord,
        action=st.just(""),
        ssn=ssns,
        last_name=tagged(20),
        suffix=st.just(""),
        first_name=tagged(15),
        middle_name=tagged(15),
        proof=st.just("V"),
        dod=st.just("2001-02-03"),
        dob=st.just("1930-00-00"),
    ),
    st.sampled_from(CORRUPTIONS),
)
def test_no_error_quotes_the_ssn_or_a_name(rec: DmfRecord, corruption: tuple[int, str]) -> None:
    line = with_cols(format_record(rec), *corruption)
    out = list(read_dmf([line, line[:50]]))
    for item in out:
        if isinstance(item, DmfRecord):
            continue
        text = str(item) + repr(item.to_dict()) + repr(item.args)
        for secret in (rec.ssn, rec.last_name, rec.first_name, rec.middle_name):
            assert secret not in text
            assert secret[:5] not in text
