"""The Splink linker: the saved model scores a batch of reports against the people on file.

Candidate people are found in the store by the model's blocking keys (set-wise SQL over the
`persons` table), handed with the batch to Splink on its own in-memory DuckDB connection,
scored, and the batch's candidates go to `decide.decide_batch`. The store is only read.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from splink import Linker

from vitalfile.events import ReportReceived
from vitalfile.ledger.store import Store
from vitalfile.link import predict_sql
from vitalfile.link import settings as model_settings
from vitalfile.link.base import LinkResult
from vitalfile.link.decide import Candidate, DecideSettings
from vitalfile.link.frames import person_frame, report_frame, reports_table
from vitalfile.link.names import norm_name
from vitalfile.link.onfile import decide_on_file, vetoes_of
from vitalfile.link.train import MODEL_VERSION, load_model

__all__ = [
    "PERSON_FRAME_COLUMNS",
    "ScoredBatch",
    "SplinkLinker",
    "compiled_model",
    "name_frequencies",
    "ranking_sql",
    "surname_frequencies",
    "term_frequencies",
]

# what the person frame is made of (former surnames join the surname's parts)
PERSON_FRAME_COLUMNS = (
    "person_id",
    "ssn",
    "first_name",
    "last_name",
    "dob",
    "sex",
    "state",
    "former_names",
)
_PERSON_COLS = PERSON_FRAME_COLUMNS
_KEEP_PER_REPORT = 3  # best, runner-up, and one more in case a reviewer vetoed one


_compiled_models: dict[tuple[str, str], str] = {}  # by the model's digest and the dialect


def compiled_model(model: dict[str, Any], dialect: str = "duckdb") -> dict[str, Any]:
    """The trained model with its SQL compiled afresh from `settings` for `dialect`.

    The artefact keeps the trained numbers; the SQL always comes from the settings module,
    so the same model runs on any engine Splink supports. Compiling parses every level's
    SQL (a fifth of a second), so each model is compiled once per process and dialect.
    """
    key = (predict_sql.model_key(model), dialect)
    done = _compiled_models.get(key)
    if done is None:
        done = _compiled_models[key] = json.dumps(_compile(model, dialect))
    out: dict[str, Any] = json.loads(done)  # a copy of its own for each caller
    return out


def _compile(model: dict[str, Any], dialect: str) -> dict[str, Any]:
    release = model_settings.release_of(model)
    fresh = model_settings.settings_creator(release=release).get_settings(dialect).as_dict()
    out = {k: v for k, v in model.items() if not k.startswith("vitalfile_")}
    out["sql_dialect"] = dialect
    out["blocking_rules_to_generate_predictions"] = fresh["blocking_rules_to_generate_predictions"]
    comps = []
    for trained, new in zip(model["comparisons"], fresh["comparisons"], strict=True):
        if trained["output_column_name"] != new["output_column_name"]:
            raise ValueError("the model artefact does not fit the settings")
        levels = []
        for t_lv, n_lv in zip(trained["comparison_levels"], new["comparison_levels"], strict=True):
            lv = dict(t_lv)
            lv["sql_condition"] = n_lv["sql_condition"]
            levels.append(lv)
        comps.append({**trained, "comparison_levels": levels})
    out["comparisons"] = comps
    return out


@dataclass
class ScoredBatch:
    """Each report's candidates (best first), and the Splink pieces that scored them."""

    candidates: list[list[Candidate]]
    records: list[dict[str, Any]]  # Splink's rows for the kept pairs (for waterfall charts)
    linker: Linker | None
    connection: duckdb.DuckDBPyConnection | None


_NAMES = ("first_name", "last_name")


def _py_part(values: dict[str, str], column: str, length: int | None) -> str:
    v = values.get(column, "")
    v = v[:length] if length else v
    return v.upper() if column in _NAMES else v


def _store_part(column: str, length: int | None) -> str:
    expr = model_settings.key_expr(column, length, "p.")
    return f"upper({expr})" if column in _NAMES else expr


def _report_keys(reports: Sequence[ReportReceived]) -> list[list[tuple[str, ...]]]:
    """Per blocking key, every value the batch has (names as written and normalised; for
    `SWAPPED_KEYS` also with first and last name exchanged), in no particular order.

    Python per report, so kept lean: each distinct key part is cut once per form, a form
    equal to one already taken adds nothing (most names are written as they normalise),
    and nothing is sorted (the candidates come back ordered by person)."""
    blocking = model_settings.BLOCKING_KEYS
    parts = sorted({part for key in blocking for part in key}, key=str)
    where = {part: i for i, part in enumerate(parts)}
    # each key's parts picked out of a form's list of cut parts, as one tuple
    picks = [
        (i, itemgetter(*(where[p] for p in key)) if len(key) > 1 else None, where[key[0]])
        for i, key in enumerate(blocking)
    ]
    swapped_keys = set(model_settings.SWAPPED_KEYS)
    keys: list[set[tuple[str, ...]]] = [set() for _ in blocking]
    for r in reports:
        raw = {
            "ssn": r.ssn,
            "first_name": " ".join(r.first_name.split()),
            "last_name": " ".join(r.last_name.split()),
            "dob": r.dob,
            "state": r.death_state.strip().upper(),
        }
        first, last = norm_name(r.first_name), norm_name(r.last_name)
        forms = [raw]
        if (first, last) != (raw["first_name"], raw["last_name"]):
            forms.append({**raw, "first_name": first, "last_name": last})
        cut = [[_py_part(values, c, n) for c, n in parts] for values in forms]
        swapped = None
        if (last, first) not in {(v["first_name"], v["last_name"]) for v in forms}:
            exchanged = {**raw, "first_name": last, "last_name": first}
            swapped = [_py_part(exchanged, c, n) for c, n in parts]
        for i, pick, only in picks:
            found = keys[i]
            for values in cut if swapped is None or i not in swapped_keys else [*cut, swapped]:
                k = pick(values) if pick is not None else (values[only],)
                if all(k):
                    found.add(k)
    return [list(k) for k in keys]


def candidate_people(store: Store, reports: Sequence[ReportReceived]) -> pa.Table:
    """Every person on file sharing a blocking key with a report of the batch.

    One join per key, on plain column equalities (portable SQL on DuckDB and PostgreSQL:
    parallel `unnest`; the outer `IN` removes the duplicates).
    """
    parts: list[str] = []
    params: list[list[str]] = []
    for key, values in zip(model_settings.BLOCKING_KEYS, _report_keys(reports), strict=True):
        if not values:
            continue
        sel = ", ".join(f"unnest(?::VARCHAR[]) AS k{i}" for i in range(len(key)))
        on = " AND ".join(f"{_store_part(c, n)} = k.k{i}" for i, (c, n) in enumerate(key))
        parts.append(f"SELECT p.person_id FROM persons p JOIN (SELECT {sel}) k ON {on}")
        params.extend([v[i] for v in values] for i in range(len(key)))
    if not parts:
        return pa.table({c: pa.array([], pa.string()) for c in _PERSON_COLS})
    return store.query_arrow(
        f"SELECT {', '.join(_PERSON_COLS)} FROM persons WHERE person_id IN ("
        + " UNION ALL ".join(parts)
        + ") ORDER BY person_id",
        params,
    )


def name_frequencies(store: Store, column: str, names: pa.Array) -> pa.Table:
    """Term frequencies of these (normalised) names of `column` among the people on file:
    columns `column` and `tf_<column>` (Splink's term-frequency lookup)."""
    if column not in ("first_name", "last_name"):
        raise ValueError(column)
    wanted = sorted({n for n in names.to_pylist() if n})
    total = int(store.query("SELECT count(*) FROM persons")[0][0]) or 1
    if not wanted:
        return pa.table(
            {column: pa.array([], pa.string()), f"tf_{column}": pa.array([], pa.float64())}
        )
    rows = store.query_arrow(
        f"SELECT upper({column}) AS {column}, count(*) AS n FROM persons "
        f"WHERE upper({column}) IN (SELECT unnest(?::VARCHAR[])) GROUP BY 1 ORDER BY 1",
        [wanted],
    )
    freq = pc.divide(rows.column("n").cast(pa.float64()), float(total))
    return pa.table({column: rows.column(column), f"tf_{column}": freq})


def surname_frequencies(store: Store, names: pa.Array) -> pa.Table:
    """Term frequencies of these (normalised) surnames among the people on file."""
    return name_frequencies(store, "last_name", names)


def term_frequencies(store: Store, reps: pa.Table, release: str) -> dict[str, pa.Table]:
    """The term-frequency lookups `release` adjusts by, for the batch's names."""
    return {
        col: name_frequencies(store, col, reps.column(col).combine_chunks())
        for col in model_settings.tf_columns(release)
    }


class SplinkLinker:
    """Implements `Linker` with the saved Splink model (DuckDB engine)."""

    def __init__(
        self,
        model: dict[str, Any] | None = None,
        settings: DecideSettings | None = None,
        *,
        threads: int | None = None,
        memory_limit: str | None = None,
        model_version: str | None = None,
    ) -> None:
        if model is None:
            model = load_model(model_version or MODEL_VERSION)
        self.model = model
        self.model_version = str(self.model.get("vitalfile_model_version", MODEL_VERSION))
        self.version = f"splink-{self.model_version}"
        self.release = model_settings.release_of(self.model)
        self.settings = settings or DecideSettings()
        self.threads = threads
        self.memory_limit = memory_limit
        self._compiled = compiled_model(self.model)
        self._model_key = predict_sql.model_key(self._compiled)
        self._shared: tuple[int, duckdb.DuckDBPyConnection] | None = None
        self._lock = threading.Lock()

    # the Linker protocol
    def link(self, store: Store, reports: Sequence[ReportReceived]) -> list[LinkResult]:
        if not reports:
            return []
        vetoes = vetoes_of(store, [r.report_key for r in reports])
        scored = self.score(store, reports, vetoes=vetoes)
        return decide_on_file(
            store,
            reports,
            scored.candidates,
            vetoes=vetoes,
            settings=self.settings,
            model_version=self.version,
        )

    def score(
        self,
        store: Store,
        reports: Sequence[ReportReceived],
        *,
        vetoes: dict[str, set[int]] | None = None,
        keep_splink: bool = False,
    ) -> ScoredBatch:
        """Every report's candidates, scored and ranked (best first)."""
        vetoed = [
            (i, pid)
            for i, r in enumerate(reports)
            for pid in sorted((vetoes or {}).get(r.report_key, ()))
        ]
        people = candidate_people(store, reports)
        persons = person_frame(people, "person_id")
        reps = report_frame(reports_table(reports))
        tf = term_frequencies(store, reps, self.release)
        return self.score_frames(persons, reps, tf, people, vetoed=vetoed, keep_splink=keep_splink)

    def score_frames(
        self,
        persons: pa.Table,
        reps: pa.Table,
        tf: pa.Table | dict[str, pa.Table],
        people: pa.Table,
        *,
        vetoed: Sequence[tuple[int, int]] = (),
        keep_splink: bool = False,
    ) -> ScoredBatch:
        """Score prepared frames; `vetoed` holds (report index, person id) pairs; `tf` the
        term-frequency lookups by column (a single table: the surnames')."""
        n = reps.num_rows
        out: list[list[Candidate]] = [[] for _ in range(n)]
        logging.getLogger("splink").setLevel(logging.WARNING)
        lookups = tf if isinstance(tf, dict) else {"last_name": tf}
        tf_tables = {col: f"vitalfile_tf_{col}" for col in lookups}
        tables = {"persons": persons, "reports": reps}
        tables.update({tf_tables[col]: table for col, table in lookups.items()})
        if persons.num_rows == 0:
            predict_sql.prepare(
                tables, self._compiled, tf_tables, key=self._model_key, fresh=self._connect
            )
            return ScoredBatch(out, [], None, None)
        if keep_splink:  # the Linker is kept for its charts: Splink's own run
            con = self._connect()
            try:
                linker, prediction, _ = predict_sql.splink_predict(
                    con, tables, self._compiled, tf_tables
                )
                ranked = _ranked(con, prediction, vetoed)
                records = con.sql(f"SELECT * FROM {prediction.table}").to_arrow_table().to_pylist()
            except BaseException:
                con.close()
                raise
            return ScoredBatch(self._candidates(ranked, people, out), records, linker, con)
        with predict_sql.predicted(
            tables,
            self._compiled,
            tf_tables,
            key=self._model_key,
            shared=self._shared_database,
            fresh=self._connect,
        ) as (con, prediction):
            ranked = _ranked(con, prediction, vetoed)
        return ScoredBatch(self._candidates(ranked, people, out), [], None, None)

    def _connect(self) -> duckdb.DuckDBPyConnection:
        """A new in-memory DuckDB with this linker's threads and memory limit."""
        con = duckdb.connect()
        if self.threads:
            con.execute(f"SET threads TO {int(self.threads)}")
        if self.memory_limit:
            con.execute(f"SET memory_limit = '{self.memory_limit}'")
        return con

    def _shared_database(self) -> duckdb.DuckDBPyConnection:
        """The in-memory DuckDB this linker's batches run in (a cursor each), opened once
        per process (a forked child opens its own)."""
        with self._lock:
            if self._shared is None or self._shared[0] != os.getpid():
                self._shared = (os.getpid(), self._connect())
            return self._shared[1]

    def _candidates(
        self, ranked: pa.Table, people: pa.Table, out: list[list[Candidate]]
    ) -> list[list[Candidate]]:
        """`out` filled with each report's ranked candidates (best first)."""
        names = [sp.name for sp in model_settings.COMPARISONS]
        tf_cols = [c for c in ranked.column_names if c.startswith("mw_tf_adj_")]
        dob_of = dict(
            zip(
                people.column("person_id").to_pylist(),
                people.column("dob").to_pylist(),
                strict=True,
            )
        )
        prior = round(_prior_weight(self.model), 4)
        cols = {c: ranked.column(c).to_pylist() for c in ranked.column_names}
        for i in range(ranked.num_rows):
            weights = {"prior": prior}
            for nm in names:
                weights[nm] = cols[f"mw_{nm}"][i]
            for c in tf_cols:
                if cols[c][i]:
                    weights["tf_" + c[len("mw_tf_adj_") :]] = cols[c][i]
            pid = cols["person_id"][i]
            out[cols["report_idx"][i]].append(
                Candidate(
                    person_id=pid,
                    probability=cols["match_probability"][i],
                    match_weight=cols["match_weight"][i],
                    levels={nm: cols[f"gamma_{nm}"][i] for nm in names},
                    weights=weights,
                    dob=dob_of.get(pid) or "",
                    release=self.release,
                )
            )
        return out


def ranking_sql(predictions: str, columns: Iterable[str], *, person_dob: bool = False) -> str:
    """SQL picking, per report, the pairs `decide` needs from Splink's predictions: the best
    two, any vetoed person (table `vitalfile_vetoes`), any holder of the report's exact SSN,
    with their levels and weights (best first). The same on DuckDB and on Spark; with
    `person_dob`, the person's birth date too (the Spark linker reads it back)."""
    names = [sp.name for sp in model_settings.COMPARISONS]
    present = set(columns)
    tf_cols = [f"mw_tf_adj_{nm}" for nm in names if f"tf_{nm}_l" in present]
    picked = ", ".join(
        [f"gamma_{nm}" for nm in names]
        + [f"round(mw_{nm}, 4) AS mw_{nm}" for nm in names]
        + [f"round(coalesce({c}, 0), 4) AS {c}" for c in tf_cols]
    )
    ssn_exact = model_settings.gamma_of("ssn", "exact")
    dob_expr = ", CASE WHEN source_dataset_l = 'reports' THEN dob_r ELSE dob_l END AS person_dob"
    dob_col = "person_dob, " if person_dob else ""
    # Which side is the report depends on Splink's ordering of the two inputs.
    return f"""
        WITH p AS (
          SELECT *,
            CASE WHEN source_dataset_l = 'reports' THEN unique_id_l ELSE unique_id_r END
              AS report_idx,
            CASE WHEN source_dataset_l = 'reports' THEN unique_id_r ELSE unique_id_l END
              AS person_id{dob_expr if person_dob else ""}
          FROM {predictions}),
        v AS (
          SELECT p.*, (x.person_id IS NOT NULL) AS vetoed FROM p
          LEFT JOIN vitalfile_vetoes x
            ON x.report_idx = p.report_idx AND x.person_id = p.person_id),
        r AS (
          SELECT *, row_number() OVER (
            PARTITION BY report_idx, vetoed ORDER BY match_weight DESC, person_id) AS rank
          FROM v)
        SELECT report_idx, person_id, {dob_col}match_probability,
          round(match_weight, 4) AS match_weight, {picked}
        FROM r
        WHERE rank <= 2 OR vetoed OR gamma_ssn = {ssn_exact}
        ORDER BY report_idx, match_weight DESC, person_id
    """


def _ranked(
    con: duckdb.DuckDBPyConnection,
    prediction: predict_sql.Prediction,
    vetoed: Sequence[tuple[int, int]],
) -> pa.Table:
    """`ranking_sql` over this batch's predictions, with its vetoes registered."""
    vet = pa.table(
        {
            "report_idx": pa.array([i for i, _ in vetoed], pa.int64()),
            "person_id": pa.array([p for _, p in vetoed], pa.int64()),
        }
    )
    con.register("vitalfile_vetoes", vet)
    return con.sql(ranking_sql(prediction.table, prediction.columns)).to_arrow_table()


def _prior_weight(model: dict[str, Any]) -> float:
    import math

    p = float(model["probability_two_random_records_match"])
    return math.log2(p / (1 - p))
