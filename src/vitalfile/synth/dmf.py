"""Synthetic DMF full files (100-character fixed-width records) for load benchmarks.

Records are built as numpy byte matrices, a million at a time, and written as they are:
10 million records (1 GB) take seconds. Lines end with "\\n"; column 1 is blank (full file).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

from vitalfile.synth import _vocab
from vitalfile.synth.people import draw_ssns

__all__ = ["DMF_RECORD_LENGTH", "write_dmf_full"]

DMF_RECORD_LENGTH = 100
_CHUNK = 1_000_000
_LAST, _SUFFIX, _FIRST, _MIDDLE, _PROOF, _DOD, _DOB = 10, 30, 34, 49, 64, 65, 73
PROOF_VERIFIED = 0.85
DOD_DAY_UNKNOWN = 0.04  # "00" day
DOD_MONTH_UNKNOWN = 0.003  # "00" month and day
_HYPHENATED = 0.02  # last names joined from two surnames (some longer than 20 characters)


def _matrix(words: list[str], width: int) -> np.ndarray:
    """(len(words), width) uint8: each word upper-case, space-padded, cut to `width`."""
    padded = np.array([w.upper()[:width].ljust(width).encode("ascii") for w in words])
    return padded.view(np.uint8).reshape(len(words), width)


@functools.cache
def _tables() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Byte matrices and cumulative weights for each name field."""
    male, female, offset = _vocab.first_names()
    last = _vocab.last_names()
    firsts = male.words.to_pylist()
    surnames = last.words.to_pylist()
    rng = np.random.default_rng(1962)  # fixed: the tables do not depend on the seed
    pairs = rng.integers(0, 1000, (2000, 2))
    joined = [f"{surnames[a]}-{surnames[b]}" for a, b in pairs.tolist()]
    last_cdf = np.concatenate(
        [
            last.cdf * (1 - _HYPHENATED),
            1 - _HYPHENATED + (np.arange(1, len(joined) + 1) / len(joined) * _HYPHENATED),
        ]
    )
    male_cdf = np.concatenate([male.cdf, np.ones(len(firsts) - offset)])
    female_cdf = np.concatenate([np.zeros(offset), female.cdf])
    initials = [chr(c) for c in range(65, 91)]
    return {
        "last": (_matrix(surnames + joined, 20), last_cdf),
        "first_m": (_matrix(firsts, 15), male_cdf),
        "first_f": (_matrix(firsts, 15), female_cdf),
        "initial": (_matrix(initials, 15), np.arange(1, 27) / 26),
        "suffix": (
            _matrix(["", "JR", "SR", "II", "III", "IV"], 4),
            np.cumsum([0.95, 0.028, 0.012, 0.004, 0.005, 0.001]),
        ),
    }


def _draw(rng: np.random.Generator, table: str, n: int) -> np.ndarray:
    words, cdf = _tables()[table]
    idx = np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(words) - 1)
    return words[idx]


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """(n, width) ASCII digits of non-negative integers, zero-padded."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((values[:, None] // powers) % 10 + 48).astype(np.uint8)


def _mmddyyyy(days: np.ndarray) -> np.ndarray:
    """MMDDYYYY as an int64 for datetime64[D] values."""
    months = days.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    return month * 1_000_000 + day * 10_000 + year


def _chunk(rng: np.random.Generator, ssn: np.ndarray) -> np.ndarray:
    n = ssn.size
    rec = np.full((n, DMF_RECORD_LENGTH + 1), ord(" "), dtype=np.uint8)
    rec[:, -1] = ord("\n")
    rec[:, 1:10] = _digits(ssn, 9)
    female = rng.random(n) < 0.5
    rec[:, _LAST:_SUFFIX] = _draw(rng, "last", n)
    rec[:, _SUFFIX:_FIRST] = np.where(
        female[:, None], _tables()["suffix"][0][0], _draw(rng, "suffix", n)
    )
    rec[:, _FIRST:_MIDDLE] = np.where(
        female[:, None], _draw(rng, "first_f", n), _draw(rng, "first_m", n)
    )
    middle_kind = rng.random(n)  # 35% none, 15% an initial, else a name
    middle = np.where(female[:, None], _draw(rng, "first_f", n), _draw(rng, "first_m", n))
    middle = np.where((middle_kind < 0.5)[:, None], _draw(rng, "initial", n), middle)
    rec[:, _MIDDLE:_PROOF] = np.where((middle_kind < 0.35)[:, None], ord(" "), middle)
    rec[:, _PROOF] = np.where(rng.random(n) < PROOF_VERIFIED, ord("V"), ord("P"))

    # Deaths 1962-2025, more in later years; age at death mostly 60-95.
    years = np.arange(1962, 2026)
    year_cdf = np.cumsum(np.linspace(1.0, 2.5, years.size))
    year_cdf /= year_cdf[-1]
    dod_year = years[np.minimum(np.searchsorted(year_cdf, rng.random(n)), years.size - 1)]
    dod = (dod_year - 1970).astype("datetime64[Y]").astype("datetime64[D]") + (
        rng.random(n) * 365
    ).astype(np.int64)
    age = np.clip(rng.normal(78.0, 14.0, n), 0.0, 108.0)
    dob = dod - (age * 365.25).astype(np.int64)
    dod_num = _mmddyyyy(dod)
    unknown = rng.random(n)
    dod_num = np.where(
        unknown < DOD_DAY_UNKNOWN, dod_num - (dod_num // 10_000 % 100) * 10_000, dod_num
    )
    dod_num = np.where(unknown < DOD_MONTH_UNKNOWN, dod_num % 10_000, dod_num)
    rec[:, _DOD : _DOD + 8] = _digits(dod_num, 8)
    rec[:, _DOB : _DOB + 8] = _digits(_mmddyyyy(dob), 8)
    return rec


def write_dmf_full(path: str | os.PathLike[str], n: int, seed: int) -> int:
    """Write `n` DMF full-file records sorted by SSN (unique, issuable) to `path`;
    return the number written. Same seed, same bytes."""
    root = np.random.SeedSequence([seed, 3])
    ssn_rng, *chunk_seeds = root.spawn(1 + -(-n // _CHUNK))
    rng = np.random.default_rng(ssn_rng)
    ssn = np.sort(
        draw_ssns(rng, np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool))
    )  # areas 001-899 but 666, as after 2011
    with Path(path).open("wb") as out:
        for i, chunk_seed in enumerate(chunk_seeds):
            part = ssn[i * _CHUNK : (i + 1) * _CHUNK]
            out.write(_chunk(np.random.default_rng(chunk_seed), part).tobytes())
    return n
