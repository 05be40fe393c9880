"""The synthetic population: one vectorised pass (numpy draws, Arrow string kernels).

No Python runs per person; word lists are indexed with Arrow `take` and strings joined with
Arrow compute, so 10 million people take seconds and about 2-3 GB of memory.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vitalfile.sources.csv import PEOPLE_COLUMNS as CSV_PEOPLE_COLUMNS
from vitalfile.synth import _vocab

__all__ = [
    "PEOPLE_COLUMNS",
    "PEOPLE_TRUTH_COLUMNS",
    "REFERENCE_DATE",
    "age_weights",
    "draw_ssns",
    "make_people",
    "people_arrays",
    "ssn_text",
]

PEOPLE_COLUMNS: tuple[str, ...] = CSV_PEOPLE_COLUMNS  # the canonical people CSV
PEOPLE_TRUTH_COLUMNS: tuple[str, ...] = ("person_row", "maiden_name", "nickname")

REFERENCE_DATE = np.datetime64("2026-01-01", "D")  # ages are counted at this day
_MAX_AGE = 105  # born 1920 at the earliest
_PUBLICISED = np.array([78_051_120, 219_099_999], dtype=np.int64)  # never issued to anyone

# Share of people by age (US-like pyramid): linear between these points.
_AGE_POINTS = (0, 20, 40, 55, 65, 75, 85, 95, 105)
_AGE_WEIGHTS = (1.25, 1.3, 1.35, 1.3, 1.2, 0.85, 0.4, 0.08, 0.005)

# Rates of the population's traits.
SHARE_FEMALE = 0.507
MIDDLE_EMPTY = 0.12
MAIDEN_SHARE = 0.5  # women over 25 with a birth surname different from their last name
HYPHENATED = 0.06  # of those, the share who joined both surnames (MAIDEN-MARRIED)
STAY_IN_BIRTH_STATE = 0.62
_SUFFIXES = ("", "JR", "SR", "II", "III", "IV")
_SUFFIX_MALE = (0.948, 0.03, 0.012, 0.004, 0.005, 0.001)


def age_weights() -> np.ndarray:
    """Relative number of people of each age 0..105 (index = age)."""
    return np.interp(np.arange(_MAX_AGE + 1), _AGE_POINTS, _AGE_WEIGHTS)


def _in_sorted(values: np.ndarray, sorted_pool: np.ndarray) -> np.ndarray:
    if sorted_pool.size == 0:
        return np.zeros(values.shape, dtype=bool)
    pos = np.searchsorted(sorted_pool, values)
    return sorted_pool[np.minimum(pos, sorted_pool.size - 1)] == values


def _draw_areas(rng: np.random.Generator, state: np.ndarray, random_era: np.ndarray) -> np.ndarray:
    offsets, counts, flat = _vocab.ssn_areas()
    u = rng.random(state.size)
    by_state = flat[offsets[state] + (u * counts[state]).astype(np.int64)]
    anywhere = rng.integers(1, 899, state.size)  # 1..898, then skip 666
    anywhere = anywhere + (anywhere >= 666)
    return np.where(random_era, anywhere, by_state)


def draw_ssns(
    rng: np.random.Generator,
    state: np.ndarray,
    random_era: np.ndarray,
    exclude: np.ndarray | None = None,
) -> np.ndarray:
    """Unique issuable SSNs (int64): area by `state` index, or any area where `random_era`.

    None equals a value of the sorted int64 array `exclude`.
    """
    n = state.size
    excl = np.empty(0, np.int64) if exclude is None else exclude

    def draw(rows: np.ndarray) -> np.ndarray:
        area = _draw_areas(rng, state[rows], random_era[rows])
        group = rng.integers(1, 100, rows.size)
        serial = rng.integers(1, 10_000, rows.size)
        return area * 1_000_000 + group * 10_000 + serial

    ssn = draw(np.arange(n))
    order = np.argsort(ssn, kind="stable")
    ordered = ssn[order]
    first = np.ones(n, dtype=bool)
    first[1:] = ordered[1:] != ordered[:-1]
    bad = np.zeros(n, dtype=bool)
    bad[order[~first]] = True
    bad |= _in_sorted(ssn, _PUBLICISED) | _in_sorted(ssn, excl)
    taken = ordered[first]  # sorted; never merged with the (few) redrawn values below
    added = np.empty(0, np.int64)
    todo = np.flatnonzero(bad)
    while todo.size:  # a few rounds; each redraws only the clashes
        new = draw(todo)
        new_order = np.argsort(new, kind="stable")
        ok = np.ones(new.size, dtype=bool)
        ok[new_order[1:][new[new_order][1:] == new[new_order][:-1]]] = False
        for pool in (taken, added, _PUBLICISED, excl):
            ok &= ~_in_sorted(new, pool)
        ssn[todo[ok]] = new[ok]
        added = np.sort(np.concatenate([added, new[ok]]))
        todo = todo[~ok]
    return ssn


def ssn_text(ssn: np.ndarray) -> pa.Array:
    """9-digit strings for int64 SSNs."""
    return pc.utf8_lpad(pa.array(ssn, pa.int64()).cast(pa.string()), 9, "0")


def _draw_dobs(rng: np.random.Generator, n: int) -> np.ndarray:
    w = age_weights()
    cdf = np.cumsum(w / w.sum())
    cdf[-1] = 1.0
    age = np.searchsorted(cdf, rng.random(n), side="right")
    year = (2025 - age - 1970).astype("datetime64[Y]")
    start = year.astype("datetime64[D]")
    length = ((year + 1).astype("datetime64[D]") - start).astype(np.int64)
    return start + (rng.random(n) * length).astype(np.int64)


def _take(words: pa.Array, idx: np.ndarray) -> pa.Array:
    return words.take(pa.array(idx))


def people_arrays(
    rng: np.random.Generator,
    n: int,
    *,
    dob: np.ndarray | None = None,
    exclude_ssns: np.ndarray | None = None,
) -> dict[str, pa.Array]:
    """Draw `n` people: canonical columns plus `maiden_name` and `nickname` (no row number).

    `dob` (datetime64[D]) fixes the dates of birth; `exclude_ssns` (sorted int64) are SSNs
    that must not be drawn (used for people who are not in the file).
    """
    male, female, f_offset = _vocab.first_names()
    last = _vocab.last_names()
    geo = _vocab.places()

    female_mask = rng.random(n) < SHARE_FEMALE
    dob_days = _draw_dobs(rng, n) if dob is None else dob.astype("datetime64[D]")
    age_days = (REFERENCE_DATE - dob_days).astype(np.int64)

    first_idx = np.where(female_mask, female.draw(rng, n) + f_offset, male.draw(rng, n))
    middle_idx = np.where(female_mask, female.draw(rng, n) + f_offset, male.draw(rng, n))
    same = middle_idx == first_idx  # JOHN JOHN: take the neighbouring name of that sex
    lo = np.where(female_mask, f_offset, 0)
    size = np.where(female_mask, len(male.words) - f_offset, f_offset)
    middle_idx = np.where(same, lo + (middle_idx - lo + 1) % size, middle_idx)
    middle_empty = rng.random(n) < MIDDLE_EMPTY

    last_idx = last.draw(rng, n)
    n_last = len(last.words)
    has_maiden = female_mask & (age_days > 25 * 365.25) & (rng.random(n) < MAIDEN_SHARE)
    maiden_idx = last.draw(rng, n)
    maiden_idx = np.where(maiden_idx == last_idx, (maiden_idx + 1) % n_last, maiden_idx)
    hyphen = has_maiden & (rng.random(n) < HYPHENATED)

    suffix_cdf = np.cumsum(_SUFFIX_MALE)
    suffix_cdf[-1] = 1.0
    suffix_idx = np.searchsorted(suffix_cdf, rng.random(n), side="right")
    suffix_idx = np.where(female_mask, 0, suffix_idx)

    nk_off, nk_count, nk_flat = _vocab.nicknames()
    count = nk_count[first_idx]
    nick_idx = np.where(
        count > 0,
        nk_off[first_idx] + (rng.random(n) * count).astype(np.int64),
        len(nk_flat) - 1,
    )

    birth_state = np.searchsorted(geo.state_cdf, rng.random(n), side="right")
    moved = np.searchsorted(geo.state_cdf, rng.random(n), side="right")
    state = np.where(rng.random(n) < STAY_IN_BIRTH_STATE, birth_state, moved)
    city_idx = state * geo.per_state + np.searchsorted(geo.city_cdf, rng.random(n), side="right")
    zip_code = np.minimum(geo.city_zip[city_idx] + rng.integers(0, 15, n), geo.zip_max[state])
    house = np.where(
        rng.random(n) < 0.8, rng.integers(1, 10_000, n), rng.integers(10_000, 30_000, n)
    )
    has_apt = rng.random(n) < 0.1
    apt = rng.integers(1, 400, n)

    random_era = dob_days >= np.datetime64("2011-01-01", "D")
    ssn = draw_ssns(rng, birth_state, random_era, exclude_ssns)

    empty = pa.scalar("", pa.string())
    last_words = _take(last.words, last_idx)
    maiden_words = _take(last.words, maiden_idx)
    hyphenated = pc.binary_join_element_wise(maiden_words, last_words, "-")
    address = pc.binary_join_element_wise(
        pa.array(house).cast(pa.string()),
        _take(geo.streets.words, geo.streets.draw(rng, n)),
        _take(geo.street_suffixes.words, geo.street_suffixes.draw(rng, n)),
        " ",
    )
    with_apt = pc.binary_join_element_wise(address, "APT", pa.array(apt).cast(pa.string()), " ")
    return {
        "ssn": ssn_text(ssn),
        "first_name": _take(male.words, first_idx),
        "middle_name": pc.if_else(pa.array(middle_empty), empty, _take(male.words, middle_idx)),
        "last_name": pc.if_else(pa.array(hyphen), hyphenated, last_words),
        "suffix": _take(pa.array(_SUFFIXES), suffix_idx),
        "dob": pa.array(dob_days.astype(np.int64).astype(np.int32), pa.date32()).cast(pa.string()),
        "sex": _take(pa.array(["M", "F"]), female_mask.astype(np.int8)),
        "birth_state": _take(geo.states, birth_state),
        "address": pc.if_else(pa.array(has_apt), with_apt, address),
        "city": _take(geo.cities, city_idx),
        "state": _take(geo.states, state),
        "zip": pc.utf8_lpad(pa.array(zip_code).cast(pa.string()), 5, "0"),
        "maiden_name": pc.if_else(pa.array(has_maiden), maiden_words, empty),
        "nickname": _take(nk_flat, nick_idx),
    }


def make_people(n: int, seed: int) -> pa.Table:
    """`n` synthetic people: the canonical people columns, then `person_row`,
    `maiden_name`, `nickname` (truth, never written to people.csv). Same seed, same table."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    cols = people_arrays(rng, n)
    data = {c: cols[c] for c in PEOPLE_COLUMNS}
    data["person_row"] = pa.array(np.arange(n, dtype=np.int64))
    data["maiden_name"] = cols["maiden_name"]
    data["nickname"] = cols["nickname"]
    return pa.table(data)
