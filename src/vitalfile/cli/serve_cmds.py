"""`vitalfile serve`: the HTTP API and the console under uvicorn, several worker processes."""

from __future__ import annotations

import logging
import os
import secrets
import shutil
from pathlib import Path
from typing import Annotated

import typer

from vitalfile.cli.common import app, log_options, settings
from vitalfile.logs import uvicorn_log_config

__all__ = ["serve"]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus-client's multiprocess mode


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes")] = 4,
    work_dir: Annotated[
        Path | None, typer.Option(help="where delivered files and match results are kept")
    ] = None,
    max_upload_mb: Annotated[int, typer.Option(help="largest request body, in MiB")] = 50,
    log_level: Annotated[
        str | None, typer.Option(help="log level (default: the global --log-level)")
    ] = None,
    log_format: Annotated[
        str | None,
        typer.Option(help="log lines: text, or json (one object per line, with a request id)"),
    ] = None,
    access_log: Annotated[
        bool, typer.Option(help="log one line per request (route template, status, time)")
    ] = False,
) -> None:
    """Serve the API (OpenAPI at /openapi.json) and the console (/console/); /healthz,
    /readyz and /metrics for the operators."""
    import uvicorn

    s = settings()
    given_level, given_format = log_options()
    level = (log_level or given_level).upper()
    if access_log and logging.getLevelName(level) > logging.INFO:
        level = "INFO"
    log_config = uvicorn_log_config(level, log_format or given_format)
    if not access_log:  # the per-request line is INFO on its own logger
        log_config["loggers"]["vitalfile.api.requests"] = {"level": "WARNING"}
    # the workers are fresh processes: they read their settings from the environment
    os.environ["VITALFILE_DB"] = s.db
    os.environ["VITALFILE_KEY_PATH"] = str(s.key_path)
    os.environ["VITALFILE_MAX_UPLOAD_BYTES"] = str(max_upload_mb * 1024 * 1024)
    if work_dir is not None:
        os.environ["VITALFILE_WORK_DIR"] = str(work_dir)
    # one session secret for every worker, so a console sign-in holds whichever answers
    os.environ.setdefault("VITALFILE_SESSION_SECRET", secrets.token_hex(32))
    is_pg = s.db.startswith(("postgresql://", "postgres://"))
    if workers > 1 and not is_pg:
        typer.echo("DuckDB allows one process per database file: serving with 1 worker", err=True)
        workers = 1
    # the workers count requests in files here, so a scrape on any worker sums them all
    if not os.environ.get(MULTIPROC_ENV):
        base = work_dir or Path(os.environ.get("VITALFILE_WORK_DIR", "vitalfile-work"))
        os.environ[MULTIPROC_ENV] = str(base / "metrics")
    metrics_dir = Path(os.environ[MULTIPROC_ENV])
    if metrics_dir.exists():  # counts of an earlier run would be summed with this one's
        shutil.rmtree(metrics_dir)
    metrics_dir.mkdir(parents=True)
    uvicorn.run(
        "vitalfile.api.app:factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=log_config,
        access_log=False,
        # a worker imports the package before it answers the supervisor's first ping
        # (the log formatter lives there): seconds on a busy machine, not a dead worker
        timeout_worker_healthcheck=60,
    )
