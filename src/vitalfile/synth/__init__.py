"""Synthetic data for tests and benchmarks: a population, death reports with realistic
errors and the truth behind them, and DMF full files. Seeded: the same seed gives the same
bytes. Owns nothing else; nothing in the pipeline imports it.
"""

from __future__ import annotations

from vitalfile.synth.dmf import DMF_RECORD_LENGTH, write_dmf_full
from vitalfile.synth.people import (
    PEOPLE_COLUMNS,
    PEOPLE_TRUTH_COLUMNS,
    TWIN_BIRTH_RATE,
    TWIN_OPPOSITE_SEX,
    TWIN_SSN_IN_SEQUENCE,
    make_people,
)
from vitalfile.synth.reports import (
    ANNUAL_DEATH_RATE,
    ERROR_KINDS,
    ERROR_RATES,
    ERROR_SOURCES,
    NOT_IN_FILE_SHARE,
    REPORT_COLUMNS,
    STATE_REPORTED,
    TRUTH_COLUMNS,
    make_reports,
    months_back,
)
from vitalfile.synth.write import write_canonical_csv, write_synth

__all__ = [
    "ANNUAL_DEATH_RATE",
    "DMF_RECORD_LENGTH",
    "ERROR_KINDS",
    "ERROR_RATES",
    "ERROR_SOURCES",
    "NOT_IN_FILE_SHARE",
    "PEOPLE_COLUMNS",
    "PEOPLE_TRUTH_COLUMNS",
    "REPORT_COLUMNS",
    "STATE_REPORTED",
    "TRUTH_COLUMNS",
    "TWIN_BIRTH_RATE",
    "TWIN_OPPOSITE_SEX",
    "TWIN_SSN_IN_SEQUENCE",
    "make_people",
    "make_reports",
    "months_back",
    "write_canonical_csv",
    "write_dmf_full",
    "write_synth",
]
