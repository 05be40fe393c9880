"""Linkage on Apache Spark: a session made from settings, and the saved model predicting there.

Train on DuckDB, predict on Spark. The model artefact is compiled for Spark's SQL dialect;
blocking and scoring run as Spark jobs through Splink's `SparkAPI`; inputs and outputs pass
as Parquet; the outcomes come from `decide.decide_batch`, the same pure functions as on
DuckDB. Nothing here writes to the ledger. A failed Spark job raises `StorageError` naming
the stage that failed, never Spark's own text (Spark and Py4J messages can hold rows).
pyspark is an optional extra (`pip install vitalfile[spark]`): it is imported on first use.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from vitalfile.errors import ConfigError, StorageError
from vitalfile.events import ReportReceived
from vitalfile.ledger.store import Store
from vitalfile.link import settings as model_settings
from vitalfile.link.base import Linker, LinkResult
from vitalfile.link.decide import Candidate, DecideSettings
from vitalfile.link.frames import FRAME_SCHEMA, person_frame, report_frame, reports_table
from vitalfile.link.onfile import decide_on_file, vetoes_of
from vitalfile.link.splink_linker import (
    PERSON_FRAME_COLUMNS,
    _prior_weight,
    candidate_people,
    compiled_model,
    name_frequencies,
    ranking_sql,
    surname_frequencies,
)
from vitalfile.link.train import MODEL_VERSION, load_model

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = [
    "ENGINES",
    "SPARK_SETTINGS_HELP",
    "SparkLinker",
    "SparkSettings",
    "export_person_frame",
    "linker_for",
    "open_linker",
    "resolve_engine",
    "spark_session",
    "stop_session",
]

log = logging.getLogger(__name__)

ENGINES = ("duckdb", "spark")
_NO_PYSPARK = "the Spark engine needs pyspark (and Java 17): pip install 'vitalfile[spark]'"

SPARK_SETTINGS_HELP = {
    "master": "Spark master URL: local[N] on one machine, spark://host:7077, yarn, k8s://…",
    "driver_memory": "spark.driver.memory (in local mode the driver does all the work)",
    "executor_memory": "spark.executor.memory on a cluster (ignored in local mode)",
    "shuffle_partitions": "spark.sql.shuffle.partitions: ~2-3 per core on a cluster",
    "log_level": "Spark's own log level: ERROR (quiet) unless asked; WARN or INFO show it",
    "local_dir": "scratch space (spill, Splink's Parquet checkpoints); default a temp dir",
    "checkpoint_dir": "where Splink's Parquet checkpoints go (on a cluster: shared storage, "
    "e.g. hdfs:// or s3a://); default under local_dir",
    "work_dir": "where inputs and outputs pass as Parquet (on a cluster: a path every "
    "executor reads); default a temp dir per run",
}

# Splink's intermediate tables, by the stage of our job they belong to.
_STAGES = (
    ("__splink__df_concat", "reading input"),
    ("__splink__df_tf", "reading input"),
    ("__splink__blocked", "blocking"),
    ("__splink__df_blocked", "blocking"),
    ("__splink__df_comparison", "scoring"),
    ("__splink__df_match_weight", "scoring"),
    ("__splink__df_predict", "scoring"),
)


@dataclass(frozen=True)
class SparkSettings:
    """How to reach Spark and how big it is; each is `VITALFILE_SPARK_<NAME>` too.

    The defaults fit one 2-core, 24 GiB machine (`local[2]`).
    """

    master: str = "local[2]"
    driver_memory: str = "2g"
    executor_memory: str = ""
    shuffle_partitions: int = 4
    log_level: str = "ERROR"
    local_dir: str = ""
    checkpoint_dir: str = ""
    work_dir: str = ""

    @classmethod
    def from_env(cls, **overrides: object) -> SparkSettings:
        values: dict[str, object] = {}
        for f in fields(cls):
            env = os.environ.get(f"VITALFILE_SPARK_{f.name.upper()}")
            if env is not None:
                values[f.name] = env
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "shuffle_partitions" in values:
            try:
                values["shuffle_partitions"] = int(str(values["shuffle_partitions"]))
            except ValueError:
                raise ConfigError(
                    "the Spark shuffle partitions must be a whole number",
                    field="spark_shuffle_partitions",
                ) from None
        level = str(values.get("log_level", cls.log_level)).upper()
        if level not in ("ALL", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "OFF"):
            raise ConfigError("unknown Spark log level", field="spark_log_level")
        values["log_level"] = level
        return cls(**values)  # type: ignore[arg-type]

    @property
    def quiet(self) -> bool:
        return self.log_level in ("ERROR", "FATAL", "OFF")


def resolve_engine(engine: str | None, default: str | None = "duckdb") -> str | None:
    """The engine asked for: the option, else `VITALFILE_ENGINE`, else `default`."""
    value = engine or os.environ.get("VITALFILE_ENGINE") or default
    if value is None:
        return None
    value = value.strip().lower()
    if value not in ENGINES:
        raise ConfigError(f"unknown engine (use one of {', '.join(ENGINES)})", field="engine")
    return value


def linker_for(
    engine: str | None,
    *,
    decide: DecideSettings | None = None,
    spark: SparkSettings | None = None,
) -> Linker:
    """The model's linker on `engine` (`duckdb` or `spark`; None reads `VITALFILE_ENGINE`),
    deciding with `decide` (None: `DecideSettings.from_env()`)."""
    chosen = resolve_engine(engine)
    decide = decide or DecideSettings.from_env()
    if chosen == "spark":
        return SparkLinker(settings=decide, spark_settings=spark)
    from vitalfile.link.splink_linker import SplinkLinker

    return SplinkLinker(settings=decide)


@contextlib.contextmanager
def open_linker(
    engine: str | None,
    *,
    decide: DecideSettings | None = None,
    spark: SparkSettings | None = None,
) -> Iterator[Linker]:
    """`linker_for`, and the Spark session it started stopped at the end."""
    linker = linker_for(engine, decide=decide, spark=spark)
    try:
        yield linker
    finally:
        if isinstance(linker, SparkLinker):
            linker.close()


# -- the session ----------------------------------------------------------------------------

_LOG4J2 = """\
rootLogger.level = {level}
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{{HH:mm:ss}} %p %c{{1}}: %m%n
"""

_scratch: dict[int, Path] = {}


@contextlib.contextmanager
def _stderr_silenced(on: bool) -> Iterator[None]:
    """While the JVM starts, point fd 2 at /dev/null: the JVM inherits it, and with it
    every line Spark would print (banner, warnings, progress) stays off the console."""
    if not on:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def spark_session(settings: SparkSettings | None = None) -> SparkSession:
    """A Spark session made from `settings`, with Splink's similarity functions loaded.

    The similarity JAR ships in Splink's wheel; it must be on `spark.jars` before the
    session starts (otherwise Splink only warns, and jobs fail later). Reuses a running
    session (Spark allows one per process); call `stop_session` to end it.
    """
    s = settings or SparkSettings.from_env()
    try:
        from pyspark.sql import SparkSession
        from splink.backends.spark import similarity_jar_location
    except ImportError:  # pragma: no cover - depends on the install
        raise ConfigError(_NO_PYSPARK, field="engine") from None
    # launched by spark-submit: the JVM is up, and spark-submit's settings (master, memory,
    # --jars) win; otherwise this process starts Spark with `settings`
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ
    local = s.master.startswith("local") and not submitted
    if local:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    scratch = Path(s.local_dir) if s.local_dir else Path(tempfile.mkdtemp(prefix="vf-spark-"))
    scratch.mkdir(parents=True, exist_ok=True)
    log4j = scratch / "log4j2.properties"
    log4j.write_text(_LOG4J2.format(level=s.log_level.lower()))
    builder = (
        SparkSession.builder.appName("vitalfile")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
    )
    if not submitted:
        builder = (
            builder.master(s.master)
            .config("spark.jars", similarity_jar_location())
            .config("spark.driver.memory", s.driver_memory)
            .config("spark.sql.shuffle.partitions", str(s.shuffle_partitions))
            .config("spark.ui.enabled", "false")
            .config("spark.local.dir", str(scratch / "local"))
            .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{log4j}")
        )
    if local:
        # one machine: listen on loopback only (on a cluster, executors must reach the driver)
        builder = builder.config("spark.driver.bindAddress", "127.0.0.1").config(
            "spark.driver.host", "127.0.0.1"
        )
    if s.executor_memory:
        builder = builder.config("spark.executor.memory", s.executor_memory)
    with warnings.catch_warnings(), _stderr_silenced(s.quiet):
        warnings.simplefilter("ignore", FutureWarning)  # pyspark vs pandas 3
        spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(s.log_level)
    # Splink's default way to break lineage writes Parquet checkpoints here
    spark.sparkContext.setCheckpointDir(s.checkpoint_dir or str(scratch / "checkpoints"))
    for name in ("py4j", "pyspark", "splink"):
        logging.getLogger(name).setLevel(logging.WARNING if not s.quiet else logging.ERROR)
    _scratch[id(spark)] = scratch
    return spark


def stop_session(spark: SparkSession) -> None:
    """Stop the session and remove its scratch space (when it was a temp dir)."""
    scratch = _scratch.pop(id(spark), None)
    spark.stop()
    if scratch is not None and scratch.name.startswith("vf-spark-"):
        shutil.rmtree(scratch, ignore_errors=True)


# -- errors ---------------------------------------------------------------------------------


def _failed(stage: str, exc: BaseException) -> StorageError:
    """The one error a failed Spark job becomes: the stage and the kind, no values."""
    kind = type(exc).__name__
    log.error("Spark job failed while %s (%s)", stage, kind)
    return StorageError(
        f"the Spark job failed while {stage} ({kind}); the ledger is unchanged", stage=stage
    )


class _Stage:
    """The stage a job is in, moved on by Splink's SQL pipeline as tables are made."""

    def __init__(self) -> None:
        self.name = "starting Spark"

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        self.name = name
        try:
            yield
        except StorageError:
            raise
        except Exception as exc:
            raise _failed(self.name, exc) from None


def _spark_api(spark: SparkSession, stage: _Stage) -> Any:
    from splink.backends.spark import SparkAPI

    class _StagedSparkAPI(SparkAPI):
        def _setup_for_execute_sql(self, sql: str, physical_name: str) -> str:
            # physical names are the templated ones with a unique suffix
            for prefix, name in _STAGES:
                if physical_name.startswith(prefix):
                    stage.name = name
                    break
            return str(super()._setup_for_execute_sql(sql, physical_name))

    return _StagedSparkAPI(spark_session=spark)


# -- the linker -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchFiles:
    """The Parquet files of one Spark run: four inputs, one output (a directory)."""

    persons: Path
    reports: Path
    tf: Path
    vetoes: Path
    out: Path
    tf_first_name: Path | None = None  # first-name frequencies (model-1.1 and later)

    @classmethod
    def in_dir(cls, d: Path) -> BatchFiles:
        return cls(
            persons=d / "persons.parquet",
            reports=d / "reports.parquet",
            tf=d / "tf.parquet",
            vetoes=d / "vetoes.parquet",
            out=d / "out",
            tf_first_name=d / "tf_first_name.parquet",
        )


class SparkLinker:
    """Implements `Linker` with the saved Splink model, predicting on Spark.

    Candidates come, as on DuckDB, from the store's people sharing a blocking key with the
    batch (or, with `people`, from a person-frame Parquet snapshot of the whole file: then
    blocking over all of it runs on Spark). The store is only read.
    """

    def __init__(
        self,
        model: dict[str, Any] | None = None,
        settings: DecideSettings | None = None,
        *,
        spark: SparkSession | None = None,
        spark_settings: SparkSettings | None = None,
        people: Path | None = None,
    ) -> None:
        self.model = model if model is not None else load_model(MODEL_VERSION)
        self.model_version = str(self.model.get("vitalfile_model_version", MODEL_VERSION))
        # the same model gives the same version on every engine: the engine is not the model
        self.version = f"splink-{self.model_version}"
        self.release = model_settings.release_of(self.model)
        self.settings = settings or DecideSettings()
        self.spark_settings = spark_settings or SparkSettings.from_env()
        self.people = people
        self._spark = spark
        self._own_session = spark is None
        self._compiled = compiled_model(self.model, "spark")

    @property
    def spark(self) -> SparkSession:
        if self._spark is None:
            try:
                from pyspark.sql import SparkSession
            except ImportError:  # pragma: no cover - depends on the install
                raise ConfigError(_NO_PYSPARK, field="engine") from None
            with _Stage()("starting Spark"):
                active = SparkSession.getActiveSession()
                if active is not None:  # one per process: use it, and leave it running
                    self._spark, self._own_session = active, False
                else:
                    self._spark = spark_session(self.spark_settings)
        return self._spark

    def close(self) -> None:
        """Stop the session if this linker started it."""
        if self._spark is not None and self._own_session:
            stop_session(self._spark)
            self._spark = None

    # the Linker protocol
    def link(self, store: Store, reports: Sequence[ReportReceived]) -> list[LinkResult]:
        if not reports:
            return []
        vetoes = vetoes_of(store, [r.report_key for r in reports])
        candidates = self.score(store, reports, vetoes=vetoes)
        return decide_on_file(
            store,
            reports,
            candidates,
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
    ) -> list[list[Candidate]]:
        """Every report's candidates, scored on Spark and ranked (best first)."""
        with self._work_dir() as d:
            files = BatchFiles.in_dir(d)
            dob_of = self.write_inputs(store, reports, files, vetoes=vetoes)
            self.predict_files(files)
            return self.read_output(files.out, len(reports), dob_of)

    @contextlib.contextmanager
    def _work_dir(self) -> Iterator[Path]:
        base = self.spark_settings.work_dir or None
        if base:
            Path(base).mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="vf-link-", dir=base) as d:
            yield Path(d)

    def write_inputs(
        self,
        store: Store,
        reports: Sequence[ReportReceived],
        files: BatchFiles,
        *,
        vetoes: dict[str, set[int]] | None = None,
    ) -> dict[int, str] | None:
        """The batch, its candidate people, surname frequencies and vetoes, as Parquet.

        Returns each candidate's birth date (for the minor rule) when the people come from
        the store; with a snapshot, birth dates come back with the scored pairs.
        """
        reps = report_frame(reports_table(reports))
        pq.write_table(reps, files.reports)
        tf = surname_frequencies(store, reps.column("last_name").combine_chunks())
        pq.write_table(tf, files.tf)
        if "first_name" in model_settings.tf_columns(self.release) and files.tf_first_name:
            first = name_frequencies(
                store, "first_name", reps.column("first_name").combine_chunks()
            )
            pq.write_table(first, files.tf_first_name)
        vetoed = [
            (i, pid)
            for i, r in enumerate(reports)
            for pid in sorted((vetoes or {}).get(r.report_key, ()))
        ]
        vet = pa.table(
            {
                "report_idx": pa.array([i for i, _ in vetoed], pa.int64()),
                "person_id": pa.array([p for _, p in vetoed], pa.int64()),
            }
        )
        pq.write_table(vet, files.vetoes)
        if self.people is not None:
            if files.persons != self.people:
                shutil.copyfile(self.people, files.persons)
            return None
        people = candidate_people(store, reports)
        pq.write_table(person_frame(people, "person_id"), files.persons)
        return dict(
            zip(
                people.column("person_id").to_pylist(),
                people.column("dob").to_pylist(),
                strict=True,
            )
        )

    def predict_files(self, files: BatchFiles) -> None:
        """Run the model on Spark: Parquet in (persons, reports, tf, vetoes), Parquet out.

        The output holds, per report, the candidates `decide` needs (the best two, any
        vetoed person, any holder of the report's exact SSN), with their levels and weights.
        """
        stage = _Stage()
        spark = self.spark
        from splink import Linker as SplinkModel

        with stage("reading input"):
            persons = spark.read.parquet(str(files.persons))
            reps = spark.read.parquet(str(files.reports))
            tf = spark.read.parquet(str(files.tf))
            vetoes = spark.read.parquet(str(files.vetoes))
        if persons.isEmpty():
            with stage("writing output"):
                files.out.mkdir(parents=True, exist_ok=True)
                pq.write_table(_empty_output(), files.out / "part-0.parquet")
            return
        with stage("reading input"):
            # the names Splink reads the two sides by; a run before this one left them behind
            for view in (
                "persons",
                "reports",
                "vitalfile_tf_last_name",
                "vitalfile_tf_first_name",
            ):
                spark.catalog.dropTempView(view)
            db = _spark_api(spark, stage)
            left = db.register(persons, table_name="persons")
            right = db.register(reps, table_name="reports")
            model = SplinkModel(
                [left, right], self._compiled, log_level=None, validate_settings=False
            )
            tf_sdf = db.register(tf, table_name="vitalfile_tf_last_name")
            model.table_management.register_term_frequency_lookup(tf_sdf, "last_name")
            first = files.tf_first_name
            if "first_name" in model_settings.tf_columns(self.release) and first is not None:
                tf_first = db.register(
                    spark.read.parquet(str(first)), table_name="vitalfile_tf_first_name"
                )
                model.table_management.register_term_frequency_lookup(tf_first, "first_name")
        with stage("blocking"):
            predictions = model.inference.predict()
        with stage("ranking"):
            pred = spark.table(predictions.physical_name)
            vetoes.createOrReplaceTempView("vitalfile_vetoes")
            ranked = spark.sql(
                ranking_sql(predictions.physical_name, pred.columns, person_dob=True)
            )
        with stage("writing output"):
            ranked.coalesce(1).write.mode("overwrite").parquet(str(files.out))
        with contextlib.suppress(Exception):
            db.delete_tables_created_by_splink_from_db()

    def read_output(
        self, out: Path, n_reports: int, dob_of: dict[int, str] | None = None
    ) -> list[list[Candidate]]:
        """The scored candidates, per report, best first."""
        ranked = pq.read_table(out)
        names = [sp.name for sp in model_settings.COMPARISONS]
        tf_cols = [c for c in ranked.column_names if c.startswith("mw_tf_adj_")]
        prior = round(_prior_weight(self.model), 4)
        cols = {c: ranked.column(c).to_pylist() for c in ranked.column_names}
        result: list[list[Candidate]] = [[] for _ in range(n_reports)]
        for i in range(ranked.num_rows):
            weights = {"prior": prior}
            for nm in names:
                weights[nm] = cols[f"mw_{nm}"][i]
            for c in tf_cols:
                if cols[c][i]:
                    weights["tf_" + c[len("mw_tf_adj_") :]] = cols[c][i]
            pid = cols["person_id"][i]
            dob = (dob_of.get(pid) if dob_of is not None else cols["person_dob"][i]) or ""
            result[cols["report_idx"][i]].append(
                Candidate(
                    person_id=pid,
                    probability=cols["match_probability"][i],
                    match_weight=cols["match_weight"][i],
                    levels={nm: cols[f"gamma_{nm}"][i] for nm in names},
                    weights=weights,
                    dob=dob,
                    release=self.release,
                )
            )
        for cands in result:
            cands.sort(key=lambda c: (-c.match_weight, c.person_id))
        return result


def _empty_output() -> pa.Table:
    names = [sp.name for sp in model_settings.COMPARISONS]
    cols: dict[str, pa.Array] = {
        "report_idx": pa.array([], pa.int64()),
        "person_id": pa.array([], pa.int64()),
        "person_dob": pa.array([], pa.string()),
        "match_probability": pa.array([], pa.float64()),
        "match_weight": pa.array([], pa.float64()),
    }
    for nm in names:
        cols[f"gamma_{nm}"] = pa.array([], pa.int32())
    for nm in names:
        cols[f"mw_{nm}"] = pa.array([], pa.float64())
    return pa.table(cols)


def export_person_frame(store: Store, path: Path, *, chunk: int = 1_000_000) -> int:
    """Write every person on file as a Splink person frame (Parquet), chunk by chunk.

    The snapshot a `SparkLinker(people=path)` blocks against; on a cluster, copy it to
    storage every executor reads. Returns the number of people written.
    """
    cols = ", ".join(PERSON_FRAME_COLUMNS)
    total = 0
    last = -1
    with pq.ParquetWriter(path, FRAME_SCHEMA) as writer:
        while True:
            part = store.query_arrow(
                f"SELECT {cols} FROM persons WHERE person_id > ? ORDER BY person_id LIMIT {chunk}",
                [last],
            )
            if part.num_rows == 0:
                break
            writer.write_table(person_frame(part, "person_id"))
            total += part.num_rows
            last = int(part.column("person_id")[-1].as_py())
    return total
