"""The Splink model: what a report and a person are compared on, and how pairs are found.

Declared once, dialect-neutral (Splink's creators compile it for DuckDB, Spark and
PostgreSQL; the custom levels are plain portable SQL): the comparisons and their levels, each
level with the plain words a case worker reads, and the blocking rules. Each model release
keeps the comparisons it was trained with (`RELEASES`): model-1.0 is scored as it always
was, model-1.1 adds first and last name reversed, birth-date typing errors and term
frequencies of first names. The trained m and u values live in the model artefact, not here; the
thresholds that turn probabilities into outcomes are `decide.DecideSettings`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache
from typing import Any

import splink.comparison_level_library as cll
from splink import SettingsCreator, block_on
from splink.blocking_rule_library import CustomRule
from splink.internals.comparison_creator import ComparisonCreator
from splink.internals.comparison_level_creator import ComparisonLevelCreator
from splink.internals.comparison_library import CustomComparison

__all__ = [
    "BLOCKING_KEYS",
    "COMPARISONS",
    "CURRENT",
    "INPUT_COLUMNS",
    "RELEASES",
    "SWAPPED_KEYS",
    "BlockingKey",
    "ComparisonSpec",
    "Level",
    "blocking_rules",
    "comparison_creators",
    "gamma_of",
    "key_expr",
    "level_words",
    "release_of",
    "settings_creator",
    "tf_columns",
]

# The columns both sides carry into Splink (already normalised; '' is NULL).
INPUT_COLUMNS: tuple[str, ...] = (
    "unique_id",
    "ssn",
    "first_name",
    "first_name_forms",
    "last_name",
    "last_name_parts",
    "dob",
    "sex",
    "state",
)


@dataclass(frozen=True)
class Level:
    creator: ComparisonLevelCreator
    words: str  # what reaching this level means, in plain words
    key: str  # a short stable name ("exact", "swap", ...) used by decide


@dataclass(frozen=True)
class ComparisonSpec:
    name: str  # Splink's output column name: gamma_<name>, mw_<name>
    label: str  # the field in plain words
    levels: tuple[Level, ...]  # most specific first; the null level first, else last


def _full(col: str) -> str:
    return f"substr({col}, 6, 2) <> '00' AND substr({col}, 9, 2) <> '00'"


def _sql(text: str, label: str) -> cll.CustomLevel:
    return cll.CustomLevel(
        " ".join(text.split()), label_for_charts=label, base_dialect_str="duckdb"
    )


_Y = ("substr(dob_l, 1, 4)", "substr(dob_r, 1, 4)")
_M = ("substr(dob_l, 6, 2)", "substr(dob_r, 6, 2)")
_D = ("substr(dob_l, 9, 2)", "substr(dob_r, 9, 2)")
_SAME_Y = f"{_Y[0]} = {_Y[1]}"
_SAME_M = f"{_M[0]} = {_M[1]}"
_SAME_D = f"{_D[0]} = {_D[1]}"

_COMPARISONS_1_0: tuple[ComparisonSpec, ...] = (
    ComparisonSpec(
        "ssn",
        "SSN",
        (
            Level(cll.NullLevel("ssn"), "missing on one side", "null"),
            Level(cll.ExactMatchLevel("ssn"), "the same", "exact"),
            Level(cll.LevenshteinLevel("ssn", 1), "one digit different", "one_digit"),
            Level(
                cll.DamerauLevenshteinLevel("ssn", 1),
                "two neighbouring digits swapped",
                "swap",
            ),
            Level(cll.ElseLevel(), "different", "else"),
        ),
    ),
    ComparisonSpec(
        "first_name",
        "first name",
        (
            Level(cll.NullLevel("first_name"), "missing on one side", "null"),
            Level(cll.ExactMatchLevel("first_name"), "the same", "exact"),
            Level(
                cll.ArrayIntersectLevel("first_name_forms", 1),
                "a nickname of the same name",
                "nickname",
            ),
            Level(cll.JaroWinklerLevel("first_name", 0.92), "nearly the same (a typo)", "jw92"),
            Level(cll.JaroWinklerLevel("first_name", 0.84), "similar", "jw84"),
            Level(
                _sql("substr(first_name_l, 1, 1) = substr(first_name_r, 1, 1)", "same initial"),
                "only the initial agrees",
                "initial",
            ),
            Level(cll.ElseLevel(), "different", "else"),
        ),
    ),
    ComparisonSpec(
        "last_name",
        "last name",
        (
            Level(cll.NullLevel("last_name"), "missing on one side", "null"),
            Level(
                cll.ExactMatchLevel("last_name", term_frequency_adjustments=True),
                "the same",
                "exact",
            ),
            Level(
                cll.ArrayIntersectLevel("last_name_parts", 1),
                "shares a name (maiden, former or double-barrelled name)",
                "parts",
            ),
            Level(cll.JaroWinklerLevel("last_name", 0.92), "nearly the same (a typo)", "jw92"),
            Level(cll.JaroWinklerLevel("last_name", 0.84), "similar", "jw84"),
            Level(cll.ElseLevel(), "different", "else"),
        ),
    ),
    ComparisonSpec(
        "dob",
        "birth date",
        (
            Level(cll.NullLevel("dob"), "missing on one side", "null"),
            Level(
                _sql(f"dob_l = dob_r AND {_full('dob_l')}", "exact"),
                "the same",
                "exact",
            ),
            Level(
                _sql(
                    f"{_SAME_Y} AND {_M[0]} = {_D[1]} AND {_D[0]} = {_M[1]} AND {_full('dob_l')} "
                    f"AND {_full('dob_r')}",
                    "day and month swapped",
                ),
                "day and month swapped",
                "swap",
            ),
            Level(
                _sql(
                    f"NOT ({_full('dob_l')} AND {_full('dob_r')}) AND {_SAME_Y} "
                    f"AND ({_SAME_M} OR {_M[0]} = '00' OR {_M[1]} = '00') "
                    f"AND ({_SAME_D} OR {_D[0]} = '00' OR {_D[1]} = '00')",
                    "partial date agrees",
                ),
                "agrees as far as it is known (partial date)",
                "partial",
            ),
            Level(
                _sql(
                    f"({_SAME_Y} AND {_SAME_M}) OR ({_SAME_Y} AND {_SAME_D}) "
                    f"OR ({_SAME_M} AND {_SAME_D})",
                    "one part different",
                ),
                "one of day, month or year different",
                "one_part",
            ),
            Level(
                _sql(
                    f"abs(CAST({_Y[0]} AS INTEGER) - CAST({_Y[1]} AS INTEGER)) <= 1",
                    "year within 1",
                ),
                "year within one, day or month different",
                "year1",
            ),
            Level(cll.ElseLevel(), "different", "else"),
        ),
    ),
    ComparisonSpec(
        "sex",
        "sex",
        (
            Level(cll.NullLevel("sex"), "missing on one side", "null"),
            Level(cll.ExactMatchLevel("sex"), "the same", "exact"),
            Level(cll.ElseLevel(), "different", "else"),
        ),
    ),
    ComparisonSpec(
        "state",
        "place (state of death vs. last residence)",
        (
            Level(cll.NullLevel("state"), "missing on one side", "null"),
            Level(cll.ExactMatchLevel("state"), "the same state", "exact"),
            Level(cll.ElseLevel(), "a different state", "else"),
        ),
    ),
)


# ── model-1.1 (issue 15) ──
_DIGIT_AT = (1, 2, 3, 4, 6, 7, 9, 10)  # 1-based positions of the digits of YYYY-MM-DD


def _digit(side: str, pos: int) -> str:
    return f"substr(dob_{side}, {pos}, 1)"


def _digits_differing() -> str:
    return " + ".join(
        f"(CASE WHEN {_digit('l', p)} <> {_digit('r', p)} THEN 1 ELSE 0 END)" for p in _DIGIT_AT
    )


def _neighbours_swapped() -> str:
    pairs = itertools.pairwise(_DIGIT_AT)
    return " OR ".join(
        f"({_digit('l', a)} = {_digit('r', b)} AND {_digit('l', b)} = {_digit('r', a)})"
        for a, b in pairs
    )


# A typed-over birth date (link.typos.date_typo in SQL): both dates full, and one digit
# differs, or exactly two neighbouring digits are swapped, or the year is one off with day
# and month the same. Plain CASE/substr/CAST: the same text runs on DuckDB and PostgreSQL.
_DOB_TYPO = (
    f"{_full('dob_l')} AND {_full('dob_r')} AND ("
    f"({_digits_differing()}) = 1 "
    f"OR (({_digits_differing()}) = 2 AND ({_neighbours_swapped()})) "
    f"OR ({_SAME_M} AND {_SAME_D} "
    f"AND abs(CAST({_Y[0]} AS INTEGER) - CAST({_Y[1]} AS INTEGER)) = 1))"
)
_REVERSED = "first and last name reversed"
_REVERSED_TYPO = "first and last name reversed, one of them misspelt"


def _reversed_typo(a: str, b: str) -> str:
    """One name exactly in the other's place, the other starting with the same two letters
    as the name in its place (a misspelt swap), in portable SQL."""
    return (
        f"({a}_l = {b}_r AND substr({b}_l, 1, 2) = substr({a}_r, 1, 2)) "
        f"OR ({b}_l = {a}_r AND substr({a}_l, 1, 2) = substr({b}_r, 1, 2))"
    )


def _with_levels(
    base: tuple[ComparisonSpec, ...], extra: dict[str, tuple[tuple[str, Level], ...]]
) -> tuple[ComparisonSpec, ...]:
    """`base` with each (after key, new level) of `extra` inserted after that level."""
    out = []
    for spec in base:
        levels = list(spec.levels)
        for after, level in extra.get(spec.name, ()):
            at = next(i for i, lv in enumerate(levels) if lv.key == after)
            levels.insert(at + 1, level)
        out.append(ComparisonSpec(spec.name, spec.label, tuple(levels)))
    return tuple(out)


def _exact_tf(col: str) -> Level:
    return Level(cll.ExactMatchLevel(col, term_frequency_adjustments=True), "the same", "exact")


_COMPARISONS_1_1 = _with_levels(
    _COMPARISONS_1_0,
    {
        "first_name": (
            (
                "exact",
                Level(
                    cll.ColumnsReversedLevel("first_name", "last_name", symmetrical=True),
                    _REVERSED,
                    "reversed",
                ),
            ),
            (
                "reversed",
                Level(
                    _sql(_reversed_typo("first_name", "last_name"), "reversed, misspelt"),
                    _REVERSED_TYPO,
                    "reversed_typo",
                ),
            ),
        ),
        "last_name": (
            (
                "exact",
                Level(
                    cll.ColumnsReversedLevel("last_name", "first_name", symmetrical=True),
                    _REVERSED,
                    "reversed",
                ),
            ),
            (
                "reversed",
                Level(
                    _sql(_reversed_typo("last_name", "first_name"), "reversed, misspelt"),
                    _REVERSED_TYPO,
                    "reversed_typo",
                ),
            ),
        ),
        "dob": (
            (
                "partial",
                Level(
                    _sql(_DOB_TYPO, "typing error"),
                    "a typing error (one digit, two neighbouring digits, or the year one off)",
                    "typo",
                ),
            ),
        ),
    },
)


def _ssn_positions_differing() -> str:
    return " + ".join(
        f"(CASE WHEN substr(ssn_l, {p}, 1) <> substr(ssn_r, {p}, 1) THEN 1 ELSE 0 END)"
        for p in range(1, 10)
    )


def _ssn_neighbours_swapped() -> str:
    return " OR ".join(
        f"(substr(ssn_l, {p}, 1) = substr(ssn_r, {p + 1}, 1) "
        f"AND substr(ssn_l, {p + 1}, 1) = substr(ssn_r, {p}, 1))"
        for p in range(1, 9)
    )


# The SSN's typing errors in portable SQL (an SSN is always 9 digits, so one digit different
# is Levenshtein 1 and two neighbours swapped is Damerau-Levenshtein 1, as in model-1.0).
_REPLACED_1_1: dict[tuple[str, str], Level] = {
    ("ssn", "one_digit"): Level(
        _sql(f"({_ssn_positions_differing()}) = 1", "one digit different"),
        "one digit different",
        "one_digit",
    ),
    ("ssn", "swap"): Level(
        _sql(
            f"({_ssn_positions_differing()}) = 2 AND ({_ssn_neighbours_swapped()})",
            "two neighbouring digits swapped",
        ),
        "two neighbouring digits swapped",
        "swap",
    ),
    # first names get term-frequency adjustment as surnames do
    ("first_name", "exact"): _exact_tf("first_name"),
}
_COMPARISONS_1_1 = tuple(
    ComparisonSpec(
        spec.name,
        spec.label,
        tuple(_REPLACED_1_1.get((spec.name, lv.key), lv) for lv in spec.levels),
    )
    for spec in _COMPARISONS_1_1
)

RELEASES: dict[str, tuple[ComparisonSpec, ...]] = {
    "1.0": _COMPARISONS_1_0,
    "1.1": _COMPARISONS_1_1,
}
CURRENT = "1.1"
COMPARISONS = RELEASES[CURRENT]
_TF_COLUMNS = {"1.0": ("last_name",), "1.1": ("first_name", "last_name")}


def release_of(model: dict[str, Any]) -> str:
    """The comparisons a saved model was trained with (model-1.0 predates the field)."""
    release = str(model.get("vitalfile_settings", model.get("vitalfile_model_version", "1.0")))
    return release if release in RELEASES else "1.0"


def tf_columns(release: str = CURRENT) -> tuple[str, ...]:
    """The columns whose exact level is adjusted by how common the value is."""
    return _TF_COLUMNS[release]


def _specs(release: str) -> tuple[ComparisonSpec, ...]:
    return RELEASES[release]


# Blocking: the pairs scored are those agreeing on at least one of these keys. Together
# they still find the person when the SSN is mis-keyed, missing or a relative's. Each key is
# a tuple of (column, prefix length or None for the whole value).
BlockingKey = tuple[tuple[str, int | None], ...]
BLOCKING_KEYS: tuple[BlockingKey, ...] = (
    (("ssn", None),),
    (("dob", None), ("last_name", 2)),
    (("dob", None), ("first_name", 2)),
    (("first_name", None), ("last_name", None), ("dob", 4)),
    (("first_name", None), ("last_name", None), ("state", None)),
    # a mis-keyed SSN with no birth date: the first five digits and the surname
    (("ssn", 5), ("last_name", 2)),
)
# Keys also searched with the report's first and last names exchanged (names written the
# other way round), and the Splink rules that let those pairs be scored.
SWAPPED_KEYS: tuple[int, ...] = (1, 2)
_SWAPPED_RULES = (
    "l.dob = r.dob AND substr(l.first_name, 1, 2) = substr(r.last_name, 1, 2)",
    "l.dob = r.dob AND substr(l.last_name, 1, 2) = substr(r.first_name, 1, 2)",
)


def key_expr(column: str, length: int | None, prefix: str = "") -> str:
    """SQL for one part of a blocking key (`prefix` qualifies the column: 'p.')."""
    return f"substr({prefix}{column}, 1, {length})" if length else f"{prefix}{column}"


def blocking_rules() -> list[Any]:
    keys = [block_on(*(key_expr(c, n) for c, n in key)) for key in BLOCKING_KEYS]
    return keys + [CustomRule(rule) for rule in _SWAPPED_RULES]


def comparison_creators(release: str = CURRENT) -> list[ComparisonCreator | dict[str, Any]]:
    return [
        CustomComparison(
            [lv.creator for lv in spec.levels],
            output_column_name=spec.name,
            comparison_description=spec.label,
        )
        for spec in _specs(release)
    ]


def settings_creator(
    probability_two_random_records_match: float = 1e-6, release: str = CURRENT
) -> SettingsCreator:
    """The untrained model of `release` (dialect-neutral)."""
    return SettingsCreator(
        link_type="link_only",
        unique_id_column_name="unique_id",
        comparisons=comparison_creators(release),
        blocking_rules_to_generate_predictions=blocking_rules(),
        probability_two_random_records_match=probability_two_random_records_match,
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=True,
        additional_columns_to_retain=[],
    )


@cache
def level_words(comparison: str, gamma: int, release: str = CURRENT) -> tuple[str, str, str]:
    """(field label, level words, level key) for a comparison's gamma value in `release`.

    Splink numbers levels from the least specific: else is 0, the null level is -1.
    """
    for spec in _specs(release):
        if spec.name == comparison:
            if gamma == -1:
                return spec.label, spec.levels[0].words, spec.levels[0].key
            ordered = spec.levels[1:]  # without the null level, most specific first
            idx = len(ordered) - 1 - gamma
            if 0 <= idx < len(ordered):
                lv = ordered[idx]
                return spec.label, lv.words, lv.key
            break
    return comparison, f"level {gamma}", f"g{gamma}"


def gamma_of(comparison: str, key: str, release: str = CURRENT) -> int:
    """The gamma value Splink gives the level `key` of `comparison` in `release`."""
    for spec in _specs(release):
        if spec.name == comparison:
            if key == "null":
                return -1
            ordered = spec.levels[1:]
            for i, lv in enumerate(ordered):
                if lv.key == key:
                    return len(ordered) - 1 - i
    raise KeyError(f"{comparison}.{key}")


def as_dict(dialect: str = "duckdb", release: str = CURRENT) -> dict[str, Any]:
    """The untrained settings compiled for `dialect` (what Splink would save)."""
    return settings_creator(release=release).get_settings(dialect).as_dict()
