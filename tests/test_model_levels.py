"""Model-1.1's own levels (issue 15): the SQL Splink runs says what the pure helpers say, on
DuckDB and on PostgreSQL alike (the custom levels are portable SQL), and each level keeps
its words; model-1.0 is still scored with the comparisons it was trained with."""

from __future__ import annotations

import os
from typing import Any

import duckdb
import pytest

from vitalfile.link import settings as model_settings
from vitalfile.link.train import load_model, parameters_table
from vitalfile.link.typos import date_typo

PG_URL = os.environ.get("VITALFILE_TEST_PG_URL", "")

PAIRS = [
    # (dob_l, dob_r, ssn_l, ssn_r, first_l, last_l, first_r, last_r)
    ("1950-03-04", "1950-03-14", "123456789", "123456789", "HAMISH", "CHANDLER", "HAMISH", "CHAN"),
    ("1950-03-04", "1905-03-04", "123456789", "123456798", "HAMISH", "CHAN", "CHAN", "HAMISH"),
    ("1950-03-04", "1951-03-04", "123456789", "123457789", "THOMAS", "MORCLM", "MORCOM", "THOMAS"),
    ("1950-03-04", "1950-04-03", "123456789", "987654321", "JOHN", "SMITH", "JAMES", "SMITH"),
    ("1950-03-04", "1978-06-12", "123456789", "123456789", "ROBERT", "HILL", "ROBERT", "HILL"),
    ("1950-03-04", "1950-03-00", "123456789", "213456789", "MARY", "JONES", "JONES", "MARTHA"),
    ("1950-03-04", "1948-03-04", "123456789", "124356789", "ANN", "LEE", "LEE", "ANN"),
    ("1969-12-31", "1970-12-31", "111111111", "111111112", "AL", "BO", "BO", "AL"),
]  # fmt: skip
_COLS: tuple[str, ...] = ("dob_l", "dob_r", "ssn_l", "ssn_r", "first_name_l", "last_name_l")
_COLS += ("first_name_r", "last_name_r")


def _ssn_level(a: str, b: str) -> str:
    diff = [i for i in range(9) if a[i] != b[i]]
    if not diff:
        return "exact"
    if len(diff) == 1:
        return "one_digit"
    i = diff[0]
    swap = len(diff) == 2 and diff[1] == i + 1 and a[i] == b[i + 1] and a[i + 1] == b[i]
    return "swap" if swap else "else"


_NEW_LEVELS = (
    ("dob", "typo"),
    ("ssn", "one_digit"),
    ("ssn", "swap"),
    ("first_name", "reversed"),
    ("first_name", "reversed_typo"),
)


def _conditions(dialect: str) -> dict[tuple[str, str], str]:
    """The SQL of model-1.1's new (portable) levels, compiled for `dialect` by Splink."""
    out = {}
    for spec in model_settings.RELEASES["1.1"]:
        for level in spec.levels:
            if (spec.name, level.key) in _NEW_LEVELS:
                compiled = level.creator.get_comparison_level(dialect).as_dict()
                out[(spec.name, level.key)] = compiled["sql_condition"]
    return out


def _evaluate(run: Any, dialect: str) -> list[dict[str, bool]]:
    cond = _conditions(dialect)
    wanted = {
        "dob_typo": cond[("dob", "typo")],
        "ssn_one": cond[("ssn", "one_digit")],
        "ssn_swap": cond[("ssn", "swap")],
        "reversed": cond[("first_name", "reversed")],
        "reversed_typo": cond[("first_name", "reversed_typo")],
    }
    select = ", ".join(f"CASE WHEN {sql} THEN 1 ELSE 0 END AS {k}" for k, sql in wanted.items())
    return [dict(zip(wanted, map(bool, row), strict=True)) for row in run(select)]


def _expected() -> list[dict[str, bool]]:
    out = []
    for dl, dr, sl, sr, fl, ll, fr, lr in PAIRS:
        out.append(
            {
                "dob_typo": date_typo(dl, dr),
                "ssn_one": _ssn_level(sl, sr) == "one_digit",
                "ssn_swap": _ssn_level(sl, sr) == "swap",
                "reversed": fl == lr and ll == fr,
                "reversed_typo": (fl == lr and ll[:2] == fr[:2]) or (ll == fr and fl[:2] == lr[:2]),
            }
        )
    return out


def _values() -> str:
    return ", ".join("(" + ", ".join(f"'{v}'" for v in row) + ")" for row in PAIRS)


def test_custom_levels_agree_with_the_helpers_on_duckdb() -> None:
    con = duckdb.connect()
    con.execute(f"CREATE TABLE pairs AS SELECT * FROM (VALUES {_values()}) t({', '.join(_COLS)})")

    def run(select: str) -> list[tuple[Any, ...]]:
        return con.execute(f"SELECT {select} FROM pairs").fetchall()

    assert _evaluate(run, "duckdb") == _expected()


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="VITALFILE_TEST_PG_URL is not set")
def test_custom_levels_agree_with_the_helpers_on_postgres() -> None:
    import psycopg

    with psycopg.connect(PG_URL) as con:
        con.execute(
            f"CREATE TEMP TABLE model_level_pairs AS SELECT * FROM (VALUES {_values()}) "
            f"t({', '.join(_COLS)})"
        )

        def run(select: str) -> list[tuple[Any, ...]]:
            # row order as inserted: the temp table was written in one go
            return con.execute(f"SELECT {select} FROM model_level_pairs").fetchall()

        assert _evaluate(run, "postgres") == _expected()


def test_every_level_has_words_and_a_weight() -> None:
    for version in ("1.0", "1.1"):
        rows = parameters_table(load_model(version))
        assert all(r["level"] and r["weight"] is not None for r in rows)
    words = {r["level"] for r in parameters_table(load_model("1.1"))}
    assert "first and last name reversed" in words
    assert any(w.startswith("a typing error") for w in words)


def test_each_release_keeps_its_comparisons() -> None:
    assert model_settings.release_of(load_model("1.0")) == "1.0"
    assert model_settings.release_of(load_model("1.1")) == "1.1"
    assert model_settings.tf_columns("1.1") == ("first_name", "last_name")
    old = model_settings.level_words("first_name", 5, "1.0")
    new = model_settings.level_words("first_name", model_settings.gamma_of("first_name", "exact"))
    assert old[2] == new[2] == "exact"
