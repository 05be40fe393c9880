"""Training the model on synthetic data and saving it as a versioned artefact in the package.

u by random sampling, m by EM over three blocked sessions (each trains what it does not
block on), the prior fixed for a national file. Levels too rare for random sampling to see
(an SSN one digit away from another) get their u from counting, not from the sample.
Training is never part of a weekly run: the linker loads the saved artefact.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from splink import DuckDBAPI, Linker, block_on

from vitalfile.errors import UsageError
from vitalfile.link import settings as model_settings
from vitalfile.link.frames import person_frame, report_frame

__all__ = [
    "MODEL_VERSION",
    "PRIOR",
    "TrainResult",
    "load_model",
    "model_path",
    "parameters_table",
    "save_model",
    "train_model",
    "train_on_synth",
]

MODEL_VERSION = "1.1"
# Synthetic training data starts on a fixed day (not "months up to today"): same seed, same
# model, whatever the day of training.
TRAIN_START = "2025-01-01"
# The prior: one report against one person of a national file of about ten million.
PRIOR = 1e-7
# SSN levels random sampling cannot see: the share of random non-matching pairs reaching
# them, counted: a 9-digit number has 81 numbers one digit away and 8 with a neighbour
# swap, out of about 10^9 possible numbers; two different people rarely share one.
_RARE_U = {
    ("ssn", "exact"): 1e-8,
    ("ssn", "one_digit"): 81e-9,
    ("ssn", "swap"): 8e-9,
    # one name in the other's place, the other's first two letters the same: a first name
    # equals another person's surname for about 1 pair in 10^3, times 1 in 10^2 for the
    # letters (assumed from the exact levels' u; random sampling rarely sees one)
    ("first_name", "reversed_typo"): 1e-5,
}
# A partial birth date agrees by chance about as often as year and month do.
_FALLBACK_U = {("dob", "partial"): 1e-3}
_MIN_U = 1e-6
# Levels whose evidence another comparison already counts: their weight is 0 (u = m). Names
# written the other way round reach "reversed" in both the first-name and the last-name
# comparison; the first name's level carries the weight, once.
_NEUTRAL = {("last_name", "reversed"), ("last_name", "reversed_typo")}
# Synthetic reports carry only the errors they were given: EM on them finds that some
# levels never happen between a report and its person (a sex or birth-date difference) and
# would make them vetoes. Real data has every kind of slip, so no level may be a veto: m
# has a floor, and levels the data never showed get a modest share.
_M_FLOOR = 0.002
_M_FLOOR_LEVEL = {("dob", "partial"): 0.01, ("last_name", "parts"): 0.01}


def model_path(version: str = MODEL_VERSION) -> Path:
    """Where the artefact of `version` lives inside the package."""
    return Path(str(resources.files("vitalfile.link") / "models" / f"model-{version}.json"))


def load_model(version: str = MODEL_VERSION, path: Path | None = None) -> dict[str, Any]:
    """The saved model (Splink's settings JSON with trained m and u)."""
    p = path or model_path(version)
    if not p.exists():
        raise UsageError(f"no linkage model {version}; run `vitalfile link train`", file=p.name)
    data: dict[str, Any] = json.loads(p.read_text(encoding="utf-8"))
    return data


def save_model(model: dict[str, Any], path: Path | None = None) -> Path:
    p = path or model_path(str(model.get("vitalfile_model_version", MODEL_VERSION)))
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(model, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    return p


@dataclass
class TrainResult:
    model: dict[str, Any]
    people: int
    reports: int
    seconds: float


def _regularise(model: dict[str, Any], release: str) -> None:
    """Every level gets a u (counted for rare SSN levels) and an m above the floor."""
    for comp in model["comparisons"]:
        name = comp["output_column_name"]
        spec = next(s for s in model_settings.RELEASES[release] if s.name == name)
        non_null = [lv for lv in comp["comparison_levels"] if not lv.get("is_null_level")]
        for lv, level in zip(non_null, spec.levels[1:], strict=True):
            key = (name, level.key)
            u = lv.get("u_probability")
            if key in _RARE_U:
                lv["u_probability"] = _RARE_U[key]
            elif u is None or u <= _MIN_U:
                lv["u_probability"] = _FALLBACK_U.get(key, _MIN_U)
            m = lv.get("m_probability") or 0.0
            lv["m_probability"] = max(m, _M_FLOOR_LEVEL.get(key, _M_FLOOR))
        total = sum(lv["m_probability"] for lv in non_null)
        for lv in non_null:
            lv["m_probability"] = lv["m_probability"] / total
        for lv, level in zip(non_null, spec.levels[1:], strict=True):
            if (name, level.key) in _NEUTRAL:
                lv["u_probability"] = lv["m_probability"]


def train_model(
    people: pa.Table,
    reports: pa.Table,
    *,
    seed: int = 1,
    max_pairs: float = 2e7,
    version: str = MODEL_VERSION,
) -> dict[str, Any]:
    """Train on `people` (with `person_row`) and `reports` (canonical columns) with EM."""
    import time

    logging.getLogger("splink").setLevel(logging.WARNING)
    started = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET threads TO 2")
    db = DuckDBAPI(connection=con)
    persons = person_frame(people, "person_row")
    reps = report_frame(
        reports.append_column("unique_id", pa.array(range(reports.num_rows), pa.int64()))
    )
    left = db.register(persons, table_name="persons")
    right = db.register(reps, table_name="reports")
    linker = Linker(
        [left, right],
        model_settings.settings_creator(PRIOR, release=model_settings.CURRENT),
        log_level=logging.WARNING,
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
    for rule in (
        block_on("ssn"),
        block_on("dob", "substr(last_name, 1, 1)"),
        block_on("first_name", "last_name"),
    ):
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, fix_probability_two_random_records_match=True
            )
        except ValueError as exc:  # a session on too little data underflows: skip it
            logging.getLogger(__name__).warning("EM session skipped: %s", exc)
    model = linker.misc.save_model_to_json()
    model["probability_two_random_records_match"] = PRIOR
    _regularise(model, model_settings.CURRENT)
    model["vitalfile_model_version"] = version
    model["vitalfile_settings"] = model_settings.CURRENT
    model["vitalfile_training"] = {
        "people": people.num_rows,
        "reports": reports.num_rows,
        "seed": seed,
        "max_pairs": max_pairs,
        "seconds": round(time.perf_counter() - started, 1),
    }
    con.close()
    return model


def train_on_synth(
    *, people: int = 1_000_000, months: int = 12, seed: int = 11, version: str = MODEL_VERSION
) -> TrainResult:
    """Make a synthetic population and its reports, and train on them."""
    import time

    from vitalfile.synth import make_people, make_reports

    started = time.perf_counter()
    population = make_people(people, seed)
    reports, _truth = make_reports(population, months, seed, start=TRAIN_START)
    model = train_model(population, reports, seed=seed, version=version)
    return TrainResult(model, people, reports.num_rows, time.perf_counter() - started)


def parameters_table(model: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per comparison level: field, level in plain words, m, u, match weight."""
    rows: list[dict[str, Any]] = []
    for comp in model["comparisons"]:
        name = comp["output_column_name"]
        release = model_settings.release_of(model)
        spec = next(s for s in model_settings.RELEASES[release] if s.name == name)
        non_null = [lv for lv in comp["comparison_levels"] if not lv.get("is_null_level")]
        for lv, level in zip(non_null, spec.levels[1:], strict=True):
            m, u = lv.get("m_probability"), lv.get("u_probability")
            weight = math.log2(m / u) if m and u else None
            rows.append(
                {
                    "field": spec.label,
                    "level": level.words,
                    "m": m,
                    "u": u,
                    "weight": None if weight is None else round(weight, 2),
                }
            )
    return rows
