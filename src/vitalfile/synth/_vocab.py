"""Word lists and weights for the synthetic data, built once per process (no network).

Names come from faker's en_US lists (census-weighted), nicknames from the `nicknames`
package (looked up once per distinct first name), states from `us`, ZIP ranges from faker.
Everything here is deterministic: the same process always builds the same tables.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import us
from faker.providers.address.en_US import Provider as _Address
from faker.providers.person.en_US import Provider as _Person
from nicknames import NickNamer

__all__ = [
    "Places",
    "Vocab",
    "first_names",
    "last_names",
    "nicknames",
    "places",
    "ssn_areas",
]


@dataclass(frozen=True)
class Vocab:
    """Words (as an Arrow array for fast `take`) and their cumulative sampling weights."""

    words: pa.Array
    cdf: np.ndarray  # float64, last element 1.0

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """`n` word indices drawn by weight."""
        return np.searchsorted(self.cdf, rng.random(n), side="right").astype(np.int32)


def _cdf(weights: np.ndarray) -> np.ndarray:
    cdf = np.cumsum(weights / weights.sum())
    cdf[-1] = 1.0
    return cdf


# Surnames with an apostrophe or a particle (not in faker's top-1000 list), sharing 1.2%.
_EXTRA_SURNAMES = (
    "O'BRIEN",
    "O'CONNOR",
    "O'NEILL",
    "O'DONNELL",
    "O'REILLY",
    "O'HARA",
    "O'LEARY",
    "D'ANGELO",
    "D'AMICO",
    "DE LA CRUZ",
    "DE LEON",
    "DE LOS SANTOS",
    "DEL ROSARIO",
    "DE JESUS",
    "VAN BUREN",
    "VAN DYKE",
    "DI MARCO",
    "LA ROSA",
    "ST JOHN",
    "MC DONALD",
)
_EXTRA_SHARE = 0.012


@functools.cache
def first_names() -> tuple[Vocab, Vocab, int]:
    """(male, female, offset): two vocabularies over ONE word array; female indices start
    at `offset` in it (so a person's first-name index is global)."""
    male = [n.upper() for n in _Person.first_names_male]
    female = [n.upper() for n in _Person.first_names_female]
    words = pa.array([*male, *female], pa.string())
    wm = np.array(list(_Person.first_names_male.values()), dtype=np.float64)
    wf = np.array(list(_Person.first_names_female.values()), dtype=np.float64)
    return Vocab(words, _cdf(wm)), Vocab(words, _cdf(wf)), len(male)


@functools.cache
def last_names() -> Vocab:
    """Census-weighted surnames plus a few with apostrophes and particles."""
    base = [n.upper() for n in _Person.last_names]
    w = np.array(list(_Person.last_names.values()), dtype=np.float64)
    w = w / w.sum() * (1.0 - _EXTRA_SHARE)
    extra = np.full(len(_EXTRA_SURNAMES), _EXTRA_SHARE / len(_EXTRA_SURNAMES))
    return Vocab(pa.array([*base, *_EXTRA_SURNAMES], pa.string()), _cdf(np.concatenate([w, extra])))


# Well-known nicknames kept whatever their length, with the first letter of the names they
# shorten (BOB for ROBERT, JACK for JOHN); other nicknames must be short forms of the name.
_CLASSIC = {
    "BOB": "R", "BOBBY": "R", "DICK": "R", "RICK": "R", "BILL": "W", "BILLY": "W",
    "JACK": "J", "JOHNNY": "J", "TED": "ET", "TEDDY": "ET", "NED": "E", "BETSY": "E",
    "BETTY": "E", "BETH": "E", "BESS": "E", "LIZ": "E", "LIBBY": "E", "LISA": "E",
    "PEGGY": "M", "POLLY": "M", "MOLLY": "M", "MAE": "M", "GRETA": "M", "TONY": "A",
    "TONI": "A", "SANDY": "A", "NANCY": "A", "CATHY": "K", "KATE": "C", "KATIE": "C",
    "KITTY": "C", "TRISH": "P", "TRICIA": "P", "BECKY": "R", "TINA": "C", "HANK": "H",
}  # fmt: skip


def _common_nickname(nick: str, name: str) -> bool:
    """Keep usual nicknames; drop spelling variants and rare forms."""
    if nick in _CLASSIC:
        return name[0] in _CLASSIC[nick]
    return nick[0] == name[0] and 2 <= len(nick) <= min(6, len(name) - 2)


@functools.cache
def nicknames() -> tuple[np.ndarray, np.ndarray, pa.Array]:
    """For every first-name index (see `first_names`): (offsets, counts, flat nicknames).

    The flat array ends with one extra "" (the index to take for names without a nickname).
    """
    namer = NickNamer()
    words = first_names()[0].words.to_pylist()
    offsets = np.zeros(len(words), dtype=np.int64)
    counts = np.zeros(len(words), dtype=np.int64)
    flat: list[str] = []
    for i, name in enumerate(words):
        nicks = sorted(
            {
                k.upper()
                for k in namer.nicknames_of(name.lower())
                if k.isascii() and k.isalpha() and _common_nickname(k.upper(), name)
            }
        )
        offsets[i], counts[i] = len(flat), len(nicks)
        flat.extend(nicks)
    flat.append("")
    return offsets, counts, pa.array(flat, pa.string())


# 2020 census resident population, thousands.
_POPULATION = {
    "AL": 5024, "AK": 733, "AZ": 7152, "AR": 3012, "CA": 39538, "CO": 5774, "CT": 3606,
    "DE": 990, "DC": 690, "FL": 21538, "GA": 10712, "HI": 1455, "ID": 1839, "IL": 12813,
    "IN": 6786, "IA": 3190, "KS": 2938, "KY": 4506, "LA": 4658, "ME": 1362, "MD": 6177,
    "MA": 7030, "MI": 10077, "MN": 5706, "MS": 2961, "MO": 6155, "MT": 1084, "NE": 1962,
    "NV": 3105, "NH": 1378, "NJ": 9289, "NM": 2118, "NY": 20201, "NC": 10439, "ND": 779,
    "OH": 11799, "OK": 3959, "OR": 4237, "PA": 13003, "RI": 1097, "SC": 5118, "SD": 887,
    "TN": 6911, "TX": 29146, "UT": 3272, "VT": 643, "VA": 8631, "WA": 7705, "WV": 1794,
    "WI": 5894, "WY": 577,
}  # fmt: skip

# SSN area numbers allocated to each state before randomisation (June 2011).
_AREAS: dict[str, tuple[tuple[int, int], ...]] = {
    "NH": ((1, 3),), "ME": ((4, 7),), "VT": ((8, 9),), "MA": ((10, 34),), "RI": ((35, 39),),
    "CT": ((40, 49),), "NY": ((50, 134),), "NJ": ((135, 158),), "PA": ((159, 211),),
    "MD": ((212, 220),), "DE": ((221, 222),), "VA": ((223, 231), (691, 699)),
    "WV": ((232, 236),), "NC": ((237, 246), (681, 690)), "SC": ((247, 251), (654, 658)),
    "GA": ((252, 260), (667, 675)), "FL": ((261, 267), (589, 595), (766, 772)),
    "OH": ((268, 302),), "IN": ((303, 317),), "IL": ((318, 361),), "MI": ((362, 386),),
    "WI": ((387, 399),), "KY": ((400, 407),), "TN": ((408, 415), (756, 763)),
    "AL": ((416, 424),), "MS": ((425, 428), (587, 588), (752, 755)),
    "AR": ((429, 432), (676, 679)), "LA": ((433, 439), (659, 665)), "OK": ((440, 448),),
    "TX": ((449, 467), (627, 645)), "MN": ((468, 477),), "IA": ((478, 485),),
    "MO": ((486, 500),), "ND": ((501, 502),), "SD": ((503, 504),), "NE": ((505, 508),),
    "KS": ((509, 515),), "MT": ((516, 517),), "ID": ((518, 519),), "WY": ((520, 520),),
    "CO": ((521, 524), (650, 653)), "NM": ((525, 525), (585, 585), (648, 649)),
    "AZ": ((526, 527), (600, 601), (764, 765)), "UT": ((528, 529), (646, 647)),
    "NV": ((530, 530), (680, 680)), "WA": ((531, 539),), "OR": ((540, 544),),
    "CA": ((545, 573), (602, 626)), "AK": ((574, 574),), "HI": ((575, 576), (750, 751)),
    "DC": ((577, 579),),
}  # fmt: skip

_STREETS = (
    "MAIN", "CHURCH", "HIGH", "MILL", "PARK", "LAKE", "HILL", "RIVER", "SPRING", "FOREST",
    "MEADOW", "RIDGE", "VALLEY", "SUNSET", "LINCOLN", "WASHINGTON", "JEFFERSON", "MADISON",
    "FRANKLIN", "JACKSON", "OAK", "PINE", "MAPLE", "CEDAR", "ELM", "WALNUT", "CHESTNUT",
    "SPRUCE", "BIRCH", "WILLOW", "HICKORY", "MAGNOLIA", "DOGWOOD", "CHERRY", "LAUREL",
    "NORTH", "SOUTH", "EAST", "WEST", "CENTER", "COLLEGE", "SCHOOL", "UNION", "BROAD",
    "MARKET", "WATER", "BRIDGE", "MEADOWBROOK", "COUNTRY CLUB", "PLEASANT",
)  # fmt: skip
_STREET_SUFFIXES = {
    "ST": 25, "AVE": 15, "RD": 15, "DR": 15, "LN": 8, "CT": 6, "WAY": 4, "BLVD": 3, "PL": 3,
    "CIR": 3, "PKWY": 2, "TER": 1,
}  # fmt: skip
_CITIES_PER_STATE = 60


def _ordinal(k: int) -> str:
    tail = "TH" if 10 <= k % 100 <= 20 else {1: "ST", 2: "ND", 3: "RD"}.get(k % 10, "TH")
    return f"{k}{tail}"


@dataclass(frozen=True)
class Places:
    """States, streets and cities (with a base ZIP) to draw addresses from."""

    states: pa.Array  # 51 abbreviations
    state_cdf: np.ndarray
    streets: Vocab
    street_suffixes: Vocab
    cities: pa.Array  # state s owns cities [s * per_state, (s + 1) * per_state)
    city_cdf: np.ndarray  # within one state (bigger cities first)
    city_zip: np.ndarray  # base ZIP of each city
    zip_max: np.ndarray  # per state, the highest ZIP
    per_state: int


@functools.cache
def places() -> Places:
    """The 50 states and DC with populations, ZIP ranges, streets and a pool of city names."""
    abbrs = sorted(s.abbr for s in [*us.states.STATES, us.states.DC])
    assert set(abbrs) == set(_POPULATION) == set(_AREAS)
    pop = np.array([_POPULATION[a] for a in abbrs], dtype=np.float64)
    rng = np.random.default_rng(20_110_625)  # fixed: the word lists never change per seed
    surnames = [n.upper() for n in list(_Person.last_names)[:300]]
    streets = [*_STREETS, *surnames[:150], *(_ordinal(k) for k in range(1, 61))]
    sw = np.array([4.0] * len(_STREETS) + [1.0] * 150 + [2.0] * 60)
    suffixes = list(_STREET_SUFFIXES)
    suffix_w = np.array(list(_STREET_SUFFIXES.values()), dtype=np.float64)
    roots = surnames + [n.upper() for n in list(_Person.first_names_male)[:100]]
    prefixes = [p.upper() for p in _Address.city_prefixes]
    city_suffixes = sorted({s.upper() for s in _Address.city_suffixes})
    cities: list[str] = []
    city_zip = np.zeros(len(abbrs) * _CITIES_PER_STATE, dtype=np.int64)
    zip_max = np.zeros(len(abbrs), dtype=np.int64)
    for s, abbr in enumerate(abbrs):
        lo, hi = _Address.states_postcode[abbr]
        if abbr == "DC":
            hi = 20099
        zip_max[s] = hi
        for c in range(_CITIES_PER_STATE):
            root = roots[int(rng.integers(len(roots)))]
            form = rng.random()
            if form < 0.55:
                name = root + city_suffixes[int(rng.integers(len(city_suffixes)))]
            elif form < 0.8:
                name = prefixes[int(rng.integers(len(prefixes)))] + " " + root
            else:
                name = root
            cities.append(name)
            city_zip[s * _CITIES_PER_STATE + c] = int(rng.integers(lo, max(lo + 1, hi - 20)))
    city_w = 1.0 / np.arange(1, _CITIES_PER_STATE + 1)
    return Places(
        states=pa.array(abbrs, pa.string()),
        state_cdf=_cdf(pop),
        streets=Vocab(pa.array(streets, pa.string()), _cdf(sw)),
        street_suffixes=Vocab(pa.array(suffixes, pa.string()), _cdf(suffix_w)),
        cities=pa.array(cities, pa.string()),
        city_cdf=_cdf(city_w),
        city_zip=city_zip,
        zip_max=zip_max,
        per_state=_CITIES_PER_STATE,
    )


@functools.cache
def ssn_areas() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per state index (order of `places().states`): (offsets, counts, flat area numbers)."""
    abbrs = places().states.to_pylist()
    flat: list[int] = []
    offsets = np.zeros(len(abbrs), dtype=np.int64)
    counts = np.zeros(len(abbrs), dtype=np.int64)
    for i, abbr in enumerate(abbrs):
        areas = [a for lo, hi in _AREAS[abbr] for a in range(lo, hi + 1)]
        offsets[i], counts[i] = len(flat), len(areas)
        flat.extend(areas)
    return offsets, counts, np.array(flat, dtype=np.int64)
