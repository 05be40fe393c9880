"""The Splink model: what a report and a person are compared on, and how pairs are found.

Declared once, dialect-neutral (Splink's creators compile it for DuckDB now, Spark later):
the comparisons and their levels, each level with the plain words a case worker reads, and
the blocking rules. The trained m and u values live in the model artefact, not here; the
thresholds that turn probabilities into outcomes are `decide.DecideSettings`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import splink.comparison_level_library as cll
from splink import SettingsCreator, block_on
from splink.internals.comparison_creator import ComparisonCreator
from splink.internals.comparison_level_creator import ComparisonLevelCreator
from splink.internals.comparison_library import CustomComparison

__all__ = [
    "BLOCKING_KEYS",
    "COMPARISONS",
    "INPUT_COLUMNS",
    "BlockingKey",
    "ComparisonSpec",
    "Level",
    "blocking_rules",
    "comparison_creators",
    "gamma_of",
    "key_expr",
    "level_words",
    "settings_creator",
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

COMPARISONS: tuple[ComparisonSpec, ...] = (
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
)


def key_expr(column: str, length: int | None, prefix: str = "") -> str:
    """SQL for one part of a blocking key (`prefix` qualifies the column: 'p.')."""
    return f"substr({prefix}{column}, 1, {length})" if length else f"{prefix}{column}"


def blocking_rules() -> list[Any]:
    return [block_on(*(key_expr(c, n) for c, n in key)) for key in BLOCKING_KEYS]


def comparison_creators() -> list[ComparisonCreator | dict[str, Any]]:
    return [
        CustomComparison(
            [lv.creator for lv in spec.levels],
            output_column_name=spec.name,
            comparison_description=spec.label,
        )
        for spec in COMPARISONS
    ]


def settings_creator(probability_two_random_records_match: float = 1e-6) -> SettingsCreator:
    """The untrained model (dialect-neutral)."""
    return SettingsCreator(
        link_type="link_only",
        unique_id_column_name="unique_id",
        comparisons=comparison_creators(),
        blocking_rules_to_generate_predictions=blocking_rules(),
        probability_two_random_records_match=probability_two_random_records_match,
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=True,
        additional_columns_to_retain=[],
    )


@cache
def level_words(comparison: str, gamma: int) -> tuple[str, str, str]:
    """(field label, level words, level key) for a comparison's gamma value.

    Splink numbers levels from the least specific: else is 0, the null level is -1.
    """
    for spec in COMPARISONS:
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


def gamma_of(comparison: str, key: str) -> int:
    """The gamma value Splink gives the level `key` of `comparison`."""
    for spec in COMPARISONS:
        if spec.name == comparison:
            if key == "null":
                return -1
            ordered = spec.levels[1:]
            for i, lv in enumerate(ordered):
                if lv.key == key:
                    return len(ordered) - 1 - i
    raise KeyError(f"{comparison}.{key}")


def as_dict(dialect: str = "duckdb") -> dict[str, Any]:
    """The untrained settings compiled for `dialect` (what Splink would save)."""
    return settings_creator().get_settings(dialect).as_dict()
