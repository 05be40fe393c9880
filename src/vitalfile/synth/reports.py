"""Synthetic deaths and the reports about them, with injected errors and their truth.

Deaths are drawn per person from an age-dependent (Gompertz) hazard scaled to
`ANNUAL_DEATH_RATE`; each death yields 1-3 reports, and each report gets errors at the rates
of `ERROR_RATES`. Work per person is one numpy draw; the rest is per report, vectorised.
"""

from __future__ import annotations

import calendar
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vitalfile.events import IDENTITY_FIELDS
from vitalfile.sources.csv import REPORT_COLUMNS as CSV_REPORT_COLUMNS
from vitalfile.synth import _vocab
from vitalfile.synth.people import age_weights, people_arrays

__all__ = [
    "ANNUAL_DEATH_RATE",
    "ERROR_KINDS",
    "ERROR_RATES",
    "ERROR_SOURCES",
    "NOT_IN_FILE_SHARE",
    "REPORT_COLUMNS",
    "STATE_REPORTED",
    "TRUTH_COLUMNS",
    "annual_hazard",
    "make_reports",
    "months_back",
]

REPORT_COLUMNS: tuple[str, ...] = CSV_REPORT_COLUMNS  # the canonical reports CSV
TRUTH_COLUMNS: tuple[str, ...] = (
    "report_id",
    "source_id",
    "person_row",
    "true_ssn",
    "true_dod",
    "errors",
)

ANNUAL_DEATH_RATE = 0.0085  # over the model age pyramid; the old die far more often
NOT_IN_FILE_SHARE = 0.015  # deaths of people who are not in the file
STATE_REPORTED = 0.85  # deaths a state reports (the rest only from other sources)
_GOMPERTZ = 0.085  # hazard grows about 8.9% per year of age
_BACKGROUND = 0.0003  # accidents and the like, at every age

# (rate in state reports, rate in other reports). Rates marked * apply among the reports
# where the error is possible: the subject has a nickname / a maiden name / a middle name,
# or a date of birth with day <= 12 and day != month. Where each rate comes from is
# `ERROR_SOURCES` (docs/accuracy.md lists both).
ERROR_RATES: dict[str, tuple[float, float]] = {
    "name_typo": (0.02, 0.04),  # one letter of the first or last name replaced
    "nickname": (0.03, 0.10),  # * a nickname instead of the first name
    "maiden_name": (0.03, 0.10),  # * the birth surname instead of the last name
    "missing_first": (0.002, 0.01),
    "missing_middle": (0.05, 0.20),  # *
    "ssn_digit": (0.015, 0.03),  # one digit wrong
    "ssn_swap": (0.01, 0.02),  # two neighbouring (different) digits swapped
    "relative_ssn": (0.005, 0.02),  # a relative's SSN: the twin's, else someone of the surname
    "never_issued_ssn": (0.002, 0.005),  # area 000/666/9xx, group 00 or serial 0000
    "missing_ssn": (0.005, 0.04),
    "dob_day_month_swap": (0.03, 0.06),  # *
    "missing_dob": (0.005, 0.04),
    "partial_dod": (0.0, 0.12),  # day of death unknown: YYYY-MM-00
    "name_swap": (0.01, 0.03),  # first and last name written the other way round
    "dob_typo": (0.01, 0.02),  # a typed-over birth date: one digit, two neighbours, year +-1
}
_ASSUMED = "assumed"
ERROR_SOURCES: dict[str, str] = {
    "name_typo": _ASSUMED,
    "nickname": f"{_ASSUMED}; the nicknames come from the `nicknames` package's table",
    "maiden_name": _ASSUMED,
    "missing_first": _ASSUMED,
    "missing_middle": _ASSUMED,
    "ssn_digit": f"{_ASSUMED} (the kind is the common SSN error named in DOMAIN.md)",
    "ssn_swap": f"{_ASSUMED} (the kind is the common SSN error named in DOMAIN.md)",
    "relative_ssn": f"{_ASSUMED}; the relative is the twin when there is one (twins at the "
    "CDC NVSS twin birth rate, synth.people.TWIN_BIRTH_RATE)",
    "never_issued_ssn": _ASSUMED,
    "missing_ssn": _ASSUMED,
    "dob_day_month_swap": _ASSUMED,
    "missing_dob": _ASSUMED,
    "partial_dod": _ASSUMED,
    "name_swap": f"{_ASSUMED}, below the ~4 % of FEBRL's corrupted duplicates (issue 15)",
    "dob_typo": _ASSUMED,
}
ERROR_KINDS: tuple[str, ...] = tuple(ERROR_RATES)
_SSN_ERRORS = ("ssn_digit", "ssn_swap", "relative_ssn", "never_issued_ssn", "missing_ssn")

_KINDS = ("state", "funeral_home", "family", "financial", "federal_agency")
_OTHER_KIND_WEIGHTS = np.array([0.45, 0.15, 0.2, 0.2])  # funeral_home, family, financial, fed
_EXTRA_REPORTS = {True: (0.55, 0.35, 0.10), False: (0.6, 0.3, 0.1)}  # 0, 1, 2 more reports
# Reporting delay in days by kind: (median, lowest, highest).
_DELAY = {0: (10, 2, 45), 1: (4, 1, 20), 2: (12, 1, 90), 3: (35, 7, 120), 4: (20, 3, 90)}
_FUNERAL_HOMES_PER_STATE = 40
_BANKS = 150


def annual_hazard(age: np.ndarray) -> np.ndarray:
    """Yearly probability-rate of death at `age` (years), scaled so that the model age
    pyramid dies at `ANNUAL_DEATH_RATE` a year."""
    ages = np.arange(age_weights().size)
    w = age_weights() / age_weights().sum()
    infant = 0.005
    k = (ANNUAL_DEATH_RATE - _BACKGROUND - infant * w[0]) / float(
        (w * np.exp(_GOMPERTZ * ages)).sum()
    )
    h = _BACKGROUND + k * np.exp(_GOMPERTZ * np.asarray(age, dtype=np.float64))
    return np.minimum(np.where(np.asarray(age) < 1, h + infant, h), 0.7)


def _to_numpy(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Arrow strings as a numpy unicode array (small arrays only: the reports)."""
    values = arr.to_numpy(zero_copy_only=False)
    return values.astype(str) if values.size else np.array([], dtype="U1")


def _codes(values: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """A fixed-width copy of `values` and a writable (rows, width) view of its code points."""
    arr = values.astype(f"U{width}")
    return arr, arr.view(np.uint32).reshape(arr.size, width)


def _typo(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each non-empty value with one character replaced by a different letter."""
    width = max(int(np.char.str_len(values).max(initial=1)), 1)
    arr, codes = _codes(values, width)
    lens = np.char.str_len(arr)
    rows = np.flatnonzero(lens > 0)
    pos = (rng.random(rows.size) * lens[rows]).astype(np.int64)
    old = codes[rows, pos].astype(np.int64)
    shift = rng.integers(1, 26, rows.size)
    letter = (old >= 65) & (old <= 90)
    codes[rows, pos] = np.where(letter, 65 + (old - 65 + shift) % 26, 65 + shift)
    return arr


def _digit_change(ssn: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    arr, codes = _codes(ssn, 9)
    pos = rng.integers(0, 9, arr.size)
    rows = np.arange(arr.size)
    old = codes[rows, pos].astype(np.int64) - 48
    codes[rows, pos] = 48 + (old + rng.integers(1, 10, arr.size)) % 10
    return arr


def _neighbour_swap(ssn: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Swap two neighbouring different digits; also returns where that was possible."""
    arr, codes = _codes(ssn, 9)
    differ = codes[:, :-1] != codes[:, 1:]
    pos = np.argmax(rng.random(differ.shape) * differ, axis=1)
    ok = differ.any(axis=1)
    rows = np.flatnonzero(ok)
    left = codes[rows, pos[rows]].copy()
    codes[rows, pos[rows]] = codes[rows, pos[rows] + 1]
    codes[rows, pos[rows] + 1] = left
    return arr, ok


def _never_issued(ssn: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    arr, codes = _codes(ssn, 9)
    how = rng.integers(0, 5, arr.size)
    digits = np.array([48 + d for d in range(10)], dtype=np.uint32)
    r = np.flatnonzero(how == 0)  # area 9xx
    codes[r, 0] = digits[9]
    r = np.flatnonzero(how == 1)  # area 666
    codes[r, 0:3] = digits[6]
    r = np.flatnonzero(how == 2)  # area 000
    codes[r, 0:3] = digits[0]
    r = np.flatnonzero(how == 3)  # group 00
    codes[r, 3:5] = digits[0]
    r = np.flatnonzero(how == 4)  # serial 0000
    codes[r, 5:9] = digits[0]
    return arr


def _relative_rows(
    people: pa.Table,
    surname: np.ndarray,
    self_row: np.ndarray,
    twin_row: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """For each subject, the row of another person: the twin (`twin_row`, -1 for none), else
    one with `surname` when there is one."""
    n = people.num_rows
    pop_last = people.column("last_name")
    wanted = pa.array(np.unique(surname).tolist(), pa.string())
    cand = np.flatnonzero(pc.is_in(pop_last, value_set=wanted).to_numpy(zero_copy_only=False))
    names = _to_numpy(pop_last.take(pa.array(cand)))
    order = np.argsort(names, kind="stable")  # rows stay ascending within a surname
    names, cand = names[order], cand[order]
    lo = np.searchsorted(names, surname, side="left")
    hi = np.searchsorted(names, surname, side="right")
    is_self = self_row >= 0
    others = hi - lo - is_self  # in-file subjects are in their own surname group
    k = (rng.random(surname.size) * np.maximum(others, 1)).astype(np.int64)
    pick = cand[np.minimum(lo + k, max(cand.size - 1, 0))] if cand.size else np.zeros_like(k)
    step = is_self & (pick >= self_row)
    pick = np.where(step, cand[np.minimum(lo + k + 1, max(cand.size - 1, 0))], pick)
    anyone = rng.integers(0, max(n, 1), surname.size)
    anyone = np.where(anyone == self_row, (anyone + 1) % max(n, 1), anyone)
    return np.where(twin_row >= 0, twin_row, np.where(others > 0, pick, anyone))


_DATE_DIGITS = (0, 1, 2, 3, 5, 6, 8, 9)  # where the digits of YYYY-MM-DD are


def _dob_typo(dob: str, how: int, where: int, step: int) -> str:
    """`dob` typed over: 0 one digit changed, 1 two neighbouring digits swapped, 2 the year
    one off (up when `step` is even); '' when that gives no other calendar date."""
    from datetime import date

    chars = list(dob)
    if how == 0:
        p = _DATE_DIGITS[where]
        chars[p] = str((int(chars[p]) + step) % 10)
    elif how == 1:
        a, b = _DATE_DIGITS[min(where, 6)], _DATE_DIGITS[min(where, 6) + 1]
        chars[a], chars[b] = chars[b], chars[a]
    else:
        chars[0:4] = f"{int(dob[:4]) + (1 if step % 2 == 0 else -1):04d}"
    out = "".join(chars)
    try:
        date.fromisoformat(out)
    except ValueError:
        return ""
    return out if out != dob else ""


def _fmt_int(values: np.ndarray, width: int) -> np.ndarray:
    if not values.size:  # numpy's zfill takes the max of the widths: none when empty
        return np.array([], dtype=f"U{width}")
    return np.char.zfill(values.astype(np.int64).astype(str), width)


def months_back(months: int, today: date | None = None) -> str:
    """The day `months` calendar months before `today` (the last day of a shorter month):
    the start of a synthetic span that ends today."""
    end = today or date.today()
    y, m = divmod(end.year * 12 + end.month - 1 - months, 12)
    return date(y, m + 1, min(end.day, calendar.monthrange(y, m + 1)[1])).isoformat()


def make_reports(
    people: pa.Table,
    months: int,
    seed: int,
    start: str | None = None,
    *,
    today: date | None = None,
) -> tuple[pa.Table, pa.Table]:
    """Deaths over `months` months from `start`, and (reports, truth) about them.

    Without `start` the months end today (`today`): no death lies in the future.

    `people` is a `make_people` table (the truth columns `person_row`, `maiden_name`,
    `nickname` and `twin_row` are used when present). Reports are ordered by `reported_at`;
    a period in which no one dies gives empty tables.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
    n = people.num_rows
    first_day = np.datetime64(start or months_back(months, today), "D")
    last_day = (first_day.astype("datetime64[M]") + months).astype("datetime64[D]") + (
        first_day - first_day.astype("datetime64[M]").astype("datetime64[D]")
    )
    span = int((last_day - first_day).astype(np.int64))

    # ── who dies ──
    dob_text = people.column("dob")
    known = pc.not_equal(dob_text, "")
    dob = pc.if_else(known, dob_text, "1960-01-01").cast(pa.date32()).to_numpy()
    born = dob.astype("datetime64[D]")
    # someone born during the span is at risk from birth on (no death before a birth); the
    # hazard is taken at the age in the middle of each one's time at risk
    at_risk_from = np.maximum(born, first_day)
    own_span = np.maximum((last_day - at_risk_from).astype(np.int64), 0)
    age = ((at_risk_from - born).astype(np.int64) + own_span / 2) / 365.25
    p_die = 1.0 - np.exp(-annual_hazard(np.maximum(age, 0.0)) * own_span / 365.25)
    rows = np.flatnonzero(rng.random(n) < p_die) if span > 0 else np.empty(0, np.int64)
    subjects = people.take(pa.array(rows))
    columns = (*IDENTITY_FIELDS, "state")
    subj = {c: _to_numpy(subjects.column(c)) for c in columns}
    for c in ("maiden_name", "nickname"):
        subj[c] = (
            _to_numpy(subjects.column(c))
            if c in people.column_names
            else np.full(rows.size, "", dtype="U1")
        )
    if "person_row" in people.column_names:
        person_row = subjects.column("person_row").to_numpy().astype(np.int64)
    else:
        person_row = rows.astype(np.int64)
    if "twin_row" in people.column_names:
        twin_row = subjects.column("twin_row").to_numpy().astype(np.int64)
    else:
        twin_row = np.full(rows.size, -1, dtype=np.int64)

    # ── people not in the file who die too ──
    m = int(rng.binomial(rows.size, NOT_IN_FILE_SHARE / (1 - NOT_IN_FILE_SHARE)))
    if rows.size == 0 and n and span > 0:
        m = int(rng.binomial(max(1, round(n * ANNUAL_DEATH_RATE * span / 365.25)), 0.015))
    if m:
        w = age_weights() * annual_hazard(np.arange(age_weights().size))
        cdf = np.cumsum(w / w.sum())
        cdf[-1] = 1.0
        ages = np.searchsorted(cdf, rng.random(m), side="right") + rng.random(m)
        out_dob = first_day - (ages * 365.25).astype(np.int64)
        ssn_text = people.column("ssn")
        has = pc.not_equal(ssn_text, "")
        pop_ssn = np.sort(ssn_text.filter(has).cast(pa.int64()).to_numpy())
        outsiders = people_arrays(rng, m, dob=out_dob, exclude_ssns=pop_ssn)
        for c in subj:
            subj[c] = np.concatenate([subj[c], _to_numpy(outsiders[c])])
        person_row = np.concatenate([person_row, np.full(m, -1, dtype=np.int64)])
        twin_row = np.concatenate([twin_row, np.full(m, -1, dtype=np.int64)])
    deaths = person_row.size
    start_day = np.full(deaths, first_day)
    start_day[: rows.size] = at_risk_from[rows]
    days = (last_day - start_day).astype(np.int64)
    dod_day = start_day + (rng.random(deaths) * days).astype(np.int64)

    # ── reports per death ──
    geo = _vocab.places()
    states = np.array(geo.states.to_pylist())
    has_state = rng.random(deaths) < STATE_REPORTED
    extra = np.where(
        has_state,
        np.searchsorted(np.cumsum(_EXTRA_REPORTS[True]), rng.random(deaths), side="right"),
        np.searchsorted(np.cumsum(_EXTRA_REPORTS[False]), rng.random(deaths), side="right"),
    )
    count = 1 + np.minimum(extra, 2)
    d = np.repeat(np.arange(deaths), count)
    nrep = d.size
    nth = np.arange(nrep) - np.repeat(np.cumsum(count) - count, count)
    # Non-state kinds in a weighted random order per death (Gumbel top-k): a death gets at
    # most one report of each kind.
    keys = np.log(_OTHER_KIND_WEIGHTS) - np.log(-np.log(rng.random((deaths, 4))))
    other_order = 1 + np.argsort(-keys, axis=1)
    slot = np.clip(nth - has_state[d], 0, 3)
    kind = np.where((nth == 0) & has_state[d], 0, other_order[d, slot])
    resident = np.minimum(np.searchsorted(states, subj["state"]), states.size - 1)
    died_in = np.where(
        (rng.random(deaths) < 0.95) & (states[resident] == subj["state"]),
        resident,
        np.searchsorted(geo.state_cdf, rng.random(deaths), side="right"),
    )
    death_state = states[died_in][d]
    home = died_in[d] * _FUNERAL_HOMES_PER_STATE + rng.integers(0, _FUNERAL_HOMES_PER_STATE, nrep)
    bank_w = 1.0 / np.arange(1, _BANKS + 1)
    bank = 1 + np.searchsorted(np.cumsum(bank_w / bank_w.sum()), rng.random(nrep), side="right")
    agency = np.where(rng.random(nrep) < 0.35, "VA", "CMS")
    source_id = np.select(
        [kind == 0, kind == 1, kind == 2, kind == 3],
        [
            death_state,
            np.char.add("FH", _fmt_int(home, 4)),
            np.full(nrep, "FAM"),
            np.char.add("BANK", _fmt_int(np.minimum(bank, _BANKS), 3)),
        ],
        agency,
    )
    median = np.array([_DELAY[k][0] for k in range(5)], dtype=np.float64)[kind]
    low = np.array([_DELAY[k][1] for k in range(5)])[kind]
    high = np.array([_DELAY[k][2] for k in range(5)])[kind]
    delay = np.clip(np.rint(median * np.exp(rng.normal(0.0, 0.6, nrep))), low, high)
    seconds = 8 * 3600 + (rng.random(nrep) * 10 * 3600).astype(np.int64)
    reported = ((dod_day[d] + delay.astype(np.int64)).astype("datetime64[s]") + seconds).astype(str)

    # ── the reports as written, then their errors ──
    true_ssn = subj["ssn"][d]
    rep = {c: subj[c][d] for c in columns}
    true_dod = dod_day[d].astype(str)
    rep["dod"] = true_dod.copy()
    other = kind != 0
    errors = {k: np.zeros(nrep, dtype=bool) for k in ERROR_KINDS}

    def chance(name: str) -> np.ndarray:
        state_rate, other_rate = ERROR_RATES[name]
        return rng.random(nrep) < np.where(other, other_rate, state_rate)

    nickname = subj["nickname"][d]
    maiden = subj["maiden_name"][d]
    errors["missing_first"] = chance("missing_first") & (rep["first_name"] != "")
    errors["nickname"] = chance("nickname") & (nickname != "") & ~errors["missing_first"]
    rep["first_name"] = np.where(errors["nickname"], nickname, rep["first_name"])
    rep["first_name"] = np.where(errors["missing_first"], "", rep["first_name"])
    errors["maiden_name"] = chance("maiden_name") & (maiden != "")
    rep["last_name"] = np.where(errors["maiden_name"], maiden, rep["last_name"])
    errors["missing_middle"] = chance("missing_middle") & (rep["middle_name"] != "")
    rep["middle_name"] = np.where(errors["missing_middle"], "", rep["middle_name"])

    typo = chance("name_typo")
    on_first = (rng.random(nrep) < 0.5) & (rep["first_name"] != "")
    on_first |= rep["last_name"] == ""
    for field, where in (("first_name", typo & on_first), ("last_name", typo & ~on_first)):
        idx = np.flatnonzero(where & (rep[field] != ""))
        if idx.size:
            rep[field][idx] = _typo(rep[field][idx], rng)
            errors["name_typo"][idx] = True

    # SSN: at most one error, drawn from one uniform per report.
    u = rng.random(nrep)
    edge = np.zeros(nrep)
    ssn_pick = {}
    for name in _SSN_ERRORS:
        state_rate, other_rate = ERROR_RATES[name]
        top = edge + np.where(other, other_rate, state_rate)
        ssn_pick[name] = (u >= edge) & (u < top)
        edge = top
    ssn = rep["ssn"].astype("U9")
    idx = np.flatnonzero(ssn_pick["ssn_digit"])
    ssn[idx] = _digit_change(ssn[idx], rng)
    errors["ssn_digit"][idx] = True
    idx = np.flatnonzero(ssn_pick["ssn_swap"])
    swapped, ok = _neighbour_swap(ssn[idx], rng)
    ssn[idx[ok]] = swapped[ok]
    errors["ssn_swap"][idx[ok]] = True
    idx = np.flatnonzero(ssn_pick["relative_ssn"])
    if idx.size and n > 1:
        relative = _relative_rows(
            people, subj["last_name"][d[idx]], person_row[d[idx]], twin_row[d[idx]], rng
        )
        ssn[idx] = _to_numpy(people.column("ssn").take(pa.array(relative)))
        errors["relative_ssn"][idx] = True
    idx = np.flatnonzero(ssn_pick["never_issued_ssn"])
    ssn[idx] = _never_issued(ssn[idx], rng)
    errors["never_issued_ssn"][idx] = True
    errors["missing_ssn"] = ssn_pick["missing_ssn"]
    rep["ssn"] = np.where(errors["missing_ssn"], "", ssn)

    # Date of birth: missing, or day and month swapped where that makes another valid date.
    dob_rep = rep["dob"].astype("U10")
    errors["missing_dob"] = chance("missing_dob") & (dob_rep != "")
    dob_arr, dob_codes = _codes(dob_rep, 10)
    full = np.char.str_len(dob_arr) == 10
    day = np.where(full, (dob_codes[:, 8] - 48) * 10 + dob_codes[:, 9] - 48, 99)
    month = np.where(full, (dob_codes[:, 5] - 48) * 10 + dob_codes[:, 6] - 48, 0)
    swappable = (day >= 1) & (day <= 12) & (day != month)
    errors["dob_day_month_swap"] = chance("dob_day_month_swap") & swappable
    errors["dob_day_month_swap"] &= ~errors["missing_dob"]
    idx = np.flatnonzero(errors["dob_day_month_swap"])
    month_digits = dob_codes[idx, 5:7].copy()
    dob_codes[idx, 5:7] = dob_codes[idx, 8:10]
    dob_codes[idx, 8:10] = month_digits
    rep["dob"] = np.where(errors["missing_dob"], "", dob_arr)

    errors["partial_dod"] = chance("partial_dod") & other
    dod_arr, dod_codes = _codes(rep["dod"], 10)
    dod_codes[np.flatnonzero(errors["partial_dod"]), 8:10] = 48
    rep["dod"] = dod_arr

    # Drawn last, so that every draw above stays what it was for a seed.
    errors["name_swap"] = chance("name_swap") & (rep["first_name"] != "") & (rep["last_name"] != "")
    swap = errors["name_swap"]
    rep["first_name"], rep["last_name"] = (
        np.where(swap, rep["last_name"], rep["first_name"]),
        np.where(swap, rep["first_name"], rep["last_name"]),
    )
    want = (
        chance("dob_typo")
        & (np.char.str_len(rep["dob"]) == 10)
        & ~errors["missing_dob"]
        & ~errors["dob_day_month_swap"]
    )
    how, where, step = rng.integers(0, 3, nrep), rng.integers(0, 8, nrep), rng.integers(1, 10, nrep)
    typed = rep["dob"].astype(object)
    for i in np.flatnonzero(want):
        new = _dob_typo(str(typed[i]), int(how[i]), int(where[i]), int(step[i]))
        if new:
            typed[i] = new
            errors["dob_typo"][i] = True
    rep["dob"] = typed.astype(str) if nrep else rep["dob"]

    error_text = np.full(nrep, "", dtype=object)
    for name in ERROR_KINDS:
        error_text = np.where(errors[name], error_text + (name + ";"), error_text)
    error_text = np.char.rstrip(error_text.astype(str), ";")

    # ── order by arrival; number the reports of each source ──
    order = np.lexsort((np.arange(nrep), source_id, reported))
    source_sorted = source_id[order]
    _, code = np.unique(source_sorted, return_inverse=True)
    by_source = np.argsort(code, kind="stable")
    group_start = np.searchsorted(code[by_source], code[by_source], side="left")
    counter = np.empty(nrep, dtype=np.int64)
    counter[by_source] = np.arange(nrep) - group_start + 1
    kind_sorted = kind[order]
    year = true_dod[order].astype("U4")
    report_id = np.where(
        kind_sorted == 0,
        np.char.add(np.char.add(year, source_sorted), _fmt_int(counter, 6)),
        _fmt_int(counter, 8),
    )

    def col(values: np.ndarray) -> pa.Array:
        return pa.array(values[order].tolist() if values.size else [], pa.string())

    reports = pa.table(
        {
            "report_id": pa.array(report_id.tolist(), pa.string()),
            "source_kind": col(np.array(_KINDS)[kind]),
            "source_id": col(source_id),
            "ssn": col(rep["ssn"]),
            "first_name": col(rep["first_name"]),
            "middle_name": col(rep["middle_name"]),
            "last_name": col(rep["last_name"]),
            "suffix": col(rep["suffix"]),
            "dob": col(rep["dob"]),
            "dod": col(rep["dod"]),
            "sex": col(rep["sex"]),
            "death_state": col(death_state),
            "reported_at": col(reported),
        }
    )
    truth = pa.table(
        {
            "report_id": reports.column("report_id"),
            "source_id": reports.column("source_id"),
            "person_row": pa.array(person_row[d][order], pa.int64()),
            "true_ssn": col(true_ssn),
            "true_dod": col(true_dod),
            "errors": col(error_text),
        }
    )
    return reports, truth
