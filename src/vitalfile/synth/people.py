"""The synthetic population: one vectorised pass (numpy draws, Arrow string kernels).

No Python runs per person; word lists are indexed with Arrow `take` and strings joined with
Arrow compute, so 10 million people take seconds and about 2-3 GB of memory. About 3% of
people are twins: a pair shares the family surname, the date of birth and the birth state.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vitalfile.sources.csv import PEOPLE_COLUMNS as CSV_PEOPLE_COLUMNS
from vitalfile.synth import _vocab

__all__ = [
    "FORMER_NAME_ON_FILE",
    "PEOPLE_COLUMNS",
    "PEOPLE_TRUTH_COLUMNS",
    "REFERENCE_DATE",
    "TWIN_BIRTH_RATE",
    "TWIN_OPPOSITE_SEX",
    "TWIN_SSN_IN_SEQUENCE",
    "age_weights",
    "draw_ssns",
    "make_people",
    "people_arrays",
    "ssn_text",
]

PEOPLE_COLUMNS: tuple[str, ...] = CSV_PEOPLE_COLUMNS  # the canonical people CSV
PEOPLE_TRUTH_COLUMNS: tuple[str, ...] = ("person_row", "maiden_name", "nickname", "twin_row")

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
# Of the women whose surname changed, the share whose record keeps the birth surname among
# her former names (`former_names`): most people who change their name tell SSA (a new card
# needs it, and earnings are matched by name), some never do. An assumption of the model,
# not a published figure.
FORMER_NAME_ON_FILE = 0.9
STAY_IN_BIRTH_STATE = 0.62
_SUFFIXES = ("", "JR", "SR", "II", "III", "IV")
_SUFFIX_MALE = (0.948, 0.03, 0.012, 0.004, 0.005, 0.001)

# Twins. Share of people born a twin: the US twin birth rate, 31.2 per 1,000 births in 2021
# (CDC NCHS, National Vital Statistics System: Horon & Martin, "Changes in Twin Births in the
# United States, 2019-2021", NVSR, Dec. 2022). It was about 19 per 1,000 in 1980 and 33 in
# 2009 (NCHS Data Brief 80); one rate for every birth year keeps the model simple.
TWIN_BIRTH_RATE = 0.031
TWIN_OPPOSITE_SEX = 1 / 3  # boy-girl pairs: half the fraternal pairs, about 2/3 of all pairs
# Before 2011 twins' parents usually applied for both numbers at once, and the office issued
# them in sequence (the next serial). An assumption of the model, not a published figure.
TWIN_SSN_IN_SEQUENCE = 0.7


def age_weights() -> np.ndarray:
    """Relative number of people of each age 0..105 (index = age)."""
    return np.interp(np.arange(_MAX_AGE + 1), _AGE_POINTS, _AGE_WEIGHTS)


def _other_name(idx: np.ndarray, female: np.ndarray, f_offset: int, total: int) -> np.ndarray:
    """The next first name of the same sex list (wrapping round), for a name to avoid."""
    lo = np.where(female, f_offset, 0)
    size = np.where(female, total - f_offset, f_offset)
    return lo + (idx - lo + 1) % size


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


def _twin_pairs(
    rng: np.random.Generator | None, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows (first, second) of the twin pairs among `n` people, TWIN_BIRTH_RATE of them (none
    without `rng`), and two uniforms per pair."""
    pairs = int(rng.binomial(n // 2, TWIN_BIRTH_RATE)) if rng is not None and n > 1 else 0
    if rng is None or not pairs:
        none = np.empty(0, np.int64)
        return none, none, np.empty((2, 0))
    rows = rng.choice(n, 2 * pairs, replace=False).astype(np.int64)
    return rows[:pairs], rows[pairs:], rng.random((2, pairs))


def _ssns_in_sequence(
    ssn: np.ndarray, first: np.ndarray, second: np.ndarray, exclude: np.ndarray
) -> np.ndarray:
    """`ssn` with each `second` twin given the next serial after the `first` twin's number,
    where that number is issuable and no one else holds it (or is excluded)."""
    nxt = ssn[first] + 1
    ok = ssn[first] % 10_000 < 9_999  # serial 9999 has no next (0000 is never issued)
    taken = np.sort(ssn)
    for pool in (taken, _PUBLICISED, exclude):
        ok &= ~_in_sorted(nxt, pool)
    out = ssn.copy()
    out[second[ok]] = nxt[ok]
    return out


def people_arrays(
    rng: np.random.Generator,
    n: int,
    *,
    dob: np.ndarray | None = None,
    exclude_ssns: np.ndarray | None = None,
    twins: np.random.Generator | None = None,
    told: np.random.Generator | None = None,
) -> dict[str, pa.Array]:
    """Draw `n` people: canonical columns plus `maiden_name`, `nickname` and `twin_row` (the
    row of the person's twin, -1 for none).

    `dob` (datetime64[D]) fixes the dates of birth; `exclude_ssns` (sorted int64) are SSNs
    that must not be drawn (used for people who are not in the file). With `twins`, a
    generator of its own (so the other people stay as they are drawn without), about
    TWIN_BIRTH_RATE of the people are paired as twins. `former_names` holds a woman's maiden
    name: with `told` (a generator of its own, like `twins`) for FORMER_NAME_ON_FILE of the
    women who have one, without it for all of them.
    """
    male, female, f_offset = _vocab.first_names()
    n_first = len(male.words)
    last = _vocab.last_names()
    geo = _vocab.places()

    female_mask = rng.random(n) < SHARE_FEMALE
    dob_days = _draw_dobs(rng, n) if dob is None else dob.astype("datetime64[D]")
    # Twins: the second of a pair takes the first's date of birth and, unless a boy-girl
    # pair, sex; the rest of the pair's likeness is set below, as each trait is drawn.
    tw_a, tw_b, tw_u = _twin_pairs(twins, n)
    dob_days[tw_b] = dob_days[tw_a]
    female_mask[tw_b] = female_mask[tw_a] ^ (tw_u[0] < TWIN_OPPOSITE_SEX)
    age_days = (REFERENCE_DATE - dob_days).astype(np.int64)

    first_idx = np.where(female_mask, female.draw(rng, n) + f_offset, male.draw(rng, n))
    _, name_id = np.unique(np.array(male.words.to_pylist()), return_inverse=True)
    b = tw_b[name_id[first_idx[tw_b]] == name_id[first_idx[tw_a]]]  # twins: two names
    first_idx[b] = _other_name(first_idx[b], female_mask[b], f_offset, n_first)
    middle_idx = np.where(female_mask, female.draw(rng, n) + f_offset, male.draw(rng, n))
    same = middle_idx == first_idx  # JOHN JOHN: take the neighbouring name of that sex
    middle_idx = np.where(same, _other_name(middle_idx, female_mask, f_offset, n_first), middle_idx)
    middle_empty = rng.random(n) < MIDDLE_EMPTY

    last_idx = last.draw(rng, n)
    n_last = len(last.words)
    has_maiden = female_mask & (age_days > 25 * 365.25) & (rng.random(n) < MAIDEN_SHARE)
    maiden_idx = last.draw(rng, n)
    maiden_idx = np.where(maiden_idx == last_idx, (maiden_idx + 1) % n_last, maiden_idx)
    # Twins share the family surname: the last name, or the maiden name of a woman who took
    # her husband's (then her last name is another one).
    family = np.where(has_maiden[tw_a], maiden_idx[tw_a], last_idx[tw_a])
    married = has_maiden[tw_b]
    maiden_idx[tw_b[married]] = family[married]
    last_b = last_idx[tw_b]
    last_idx[tw_b] = np.where(
        married, np.where(last_b == family, (last_b + 1) % n_last, last_b), family
    )
    hyphen = has_maiden & (rng.random(n) < HYPHENATED)
    on_file = has_maiden if told is None else has_maiden & (told.random(n) < FORMER_NAME_ON_FILE)

    suffix_cdf = np.cumsum(_SUFFIX_MALE)
    suffix_cdf[-1] = 1.0
    suffix_idx = np.searchsorted(suffix_cdf, rng.random(n), side="right")
    suffix_idx = np.where(female_mask, 0, suffix_idx)
    suffix_idx[tw_b[suffix_idx[tw_a] > 0]] = 0  # one JR (or III) per pair

    nk_off, nk_count, nk_flat = _vocab.nicknames()
    count = nk_count[first_idx]
    nick_idx = np.where(
        count > 0,
        nk_off[first_idx] + (rng.random(n) * count).astype(np.int64),
        len(nk_flat) - 1,
    )

    birth_state = np.searchsorted(geo.state_cdf, rng.random(n), side="right")
    birth_state[tw_b] = birth_state[tw_a]
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
    in_sequence = (tw_u[1] < TWIN_SSN_IN_SEQUENCE) & ~random_era[tw_a]
    excl = np.empty(0, np.int64) if exclude_ssns is None else exclude_ssns
    ssn = _ssns_in_sequence(ssn, tw_a[in_sequence], tw_b[in_sequence], excl)
    street_idx = geo.streets.draw(rng, n)
    street_suffix_idx = geo.street_suffixes.draw(rng, n)
    # Twins under 18 live together; adults live where the usual rule puts them.
    home_a = tw_a[age_days[tw_a] < 18 * 365.25]
    home_b = tw_b[age_days[tw_a] < 18 * 365.25]
    for arr in (state, city_idx, zip_code, house, has_apt, apt, street_idx, street_suffix_idx):
        arr[home_b] = arr[home_a]
    twin_row = np.full(n, -1, dtype=np.int64)
    twin_row[tw_a], twin_row[tw_b] = tw_b, tw_a

    empty = pa.scalar("", pa.string())
    last_words = _take(last.words, last_idx)
    maiden_words = _take(last.words, maiden_idx)
    hyphenated = pc.binary_join_element_wise(maiden_words, last_words, "-")
    address = pc.binary_join_element_wise(
        pa.array(house).cast(pa.string()),
        _take(geo.streets.words, street_idx),
        _take(geo.street_suffixes.words, street_suffix_idx),
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
        "former_names": pc.if_else(pa.array(on_file), maiden_words, empty),
        "maiden_name": pc.if_else(pa.array(has_maiden), maiden_words, empty),
        "nickname": _take(nk_flat, nick_idx),
        "twin_row": pa.array(twin_row, pa.int64()),
    }


def make_people(n: int, seed: int) -> pa.Table:
    """`n` synthetic people: the canonical people columns, then `person_row`, `maiden_name`,
    `nickname` and `twin_row` (truth, never written to people.csv). Same seed, same table."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    twins = np.random.default_rng(np.random.SeedSequence([seed, 4]))
    told = np.random.default_rng(np.random.SeedSequence([seed, 5]))
    cols = people_arrays(rng, n, twins=twins, told=told)
    data = {c: cols[c] for c in PEOPLE_COLUMNS}
    data["person_row"] = pa.array(np.arange(n, dtype=np.int64))
    for c in ("maiden_name", "nickname", "twin_row"):
        data[c] = cols[c]
    return pa.table(data)
